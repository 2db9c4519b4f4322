package stm32_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"ota-agent/flasher/stm32"
	"ota-agent/flasher/stm32/stm32test"
)

// TestInstallUnderFaults runs every fault kind with several seeds: each
// run must either leave exactly the image in flash or fail with an error
// that names the step, and a faulty run must never report success with a
// wrong image.
func TestInstallUnderFaults(t *testing.T) {
	kinds := []struct {
		name   string
		faults stm32test.Faults
	}{
		{"bit flip", stm32test.Faults{BitFlip: 0.03}},
		{"dropped byte", stm32test.Faults{Drop: 0.03}},
		{"nack", stm32test.Faults{NACK: 0.1}},
		{"reply flip", stm32test.Faults{ReplyFlip: 0.03}},
		{"stall", stm32test.Faults{Stall: 0.02, StallFor: 400 * time.Millisecond}},
		{"reset mid-transfer", stm32test.Faults{ResetAt: 7}},
		{"everything", stm32test.Faults{BitFlip: 0.01, Drop: 0.01, NACK: 0.02, ReplyFlip: 0.01, Stall: 0.005, StallFor: 300 * time.Millisecond}},
	}
	for _, k := range kinds {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("%s/seed%d", k.name, seed), func(t *testing.T) {
				t.Parallel()
				f := k.faults
				f.Seed, f.Max = seed, 6
				sim, p := startSim(t, stm32test.Options{PID: 0x410, Faults: f})
				img := image(6000, seed)
				_, err := install(t, sim, p, img, stm32.TargetConfig{Verify: "readback"})
				st := sim.Stats()
				t.Logf("faults injected %d, err %v", st.Faults, err)
				if st.Faults == 0 {
					t.Errorf("no fault was injected; the knob %+v does nothing", f)
				}
				if err != nil {
					if !strings.HasPrefix(err.Error(), "flash mcu (stm32, ") {
						t.Errorf("error %q lacks the component prefix", err)
					}
					return
				}
				if !bytes.Equal(sim.Flash()[:len(img)], img) {
					t.Fatalf("Install reported success but flash differs from the image (%d faults)", st.Faults)
				}
			})
		}
	}
}

// TestInstallGivesUpOnPersistentNACK: a part that NACKs every write must
// fail with the block, the address and the try count.
func TestInstallGivesUpOnPersistentNACK(t *testing.T) {
	sim, p := startSim(t, stm32test.Options{PID: 0x410, Faults: stm32test.Faults{NACK: 1}})
	_, err := install(t, sim, p, image(600, 1), stm32.TargetConfig{})
	if err == nil {
		t.Fatal("Install succeeded against a part that NACKs everything")
	}
	for _, w := range []string{"check readout protection", "bootloader answered NACK", "after 5 tries"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

// TestVerifyCatchesBadFlash: a part that ACKs a block but programs one bit
// wrong must never be reported as flashed, whichever verify can see it.
func TestVerifyCatchesBadFlash(t *testing.T) {
	for _, tt := range []struct {
		pid    uint16
		verify string
	}{{0x410, "readback"}, {0x460, "checksum"}, {0x410, "checksum"}} {
		t.Run(fmt.Sprintf("%#03x/%s", tt.pid, tt.verify), func(t *testing.T) {
			sim, p := startSim(t, stm32test.Options{PID: tt.pid, Faults: stm32test.Faults{Seed: 4, FlashFlip: 1, Max: 1}})
			_, err := install(t, sim, p, image(4000, 2), stm32.TargetConfig{Verify: tt.verify})
			if !errors.Is(err, stm32.ErrVerify) {
				t.Fatalf("Install with a bad flash cell = %v, want ErrVerify", err)
			}
			for _, w := range []string{"verify block 1/16 at 0x8000000", "flash holds"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if sim.Running() {
				t.Error("the application was started from an unverified image")
			}
		})
	}
}
