package stm32_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ota-agent/flasher/stm32/stm32test"
	"ota-agent/internal/peertest"
)

// stm32flash runs the real tool against a pty (8n1: a pty drops parity).
func stm32flash(t *testing.T, path string, args ...string) string {
	t.Helper()
	tool := peertest.Need(t, "stm32flash", "stm32flash")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	argv := append([]string{"-b", "115200", "-m", "8n1"}, args...)
	out, err := exec.CommandContext(ctx, tool, append(argv, path)...).CombinedOutput()
	if err != nil {
		t.Fatalf("stm32flash %s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}

func TestStm32flashWritesVerifiesAndGoes(t *testing.T) {
	for _, pid := range []uint16{0x410, 0x413, 0x460, 0x440, 0x415} {
		t.Run(fmt.Sprintf("%#03x", pid), func(t *testing.T) {
			sim, p := startSim(t, stm32test.Options{PID: pid})
			img := image(20000, uint64(pid))
			f := filepath.Join(t.TempDir(), "fw.bin")
			os.WriteFile(f, img, 0o644)
			out := stm32flash(t, p.Path, "-w", f, "-v", "-g", "0x0")
			if !strings.Contains(out, fmt.Sprintf("Device ID    : %#04x", pid)) {
				t.Errorf("stm32flash did not identify PID %#03x:\n%s", pid, out)
			}
			checkFlash(t, sim.Flash(), img, 0)
			if rest := sim.Flash()[len(img):]; bytes.Count(rest, []byte{0xFF}) != len(rest) {
				t.Error("flash beyond the image is not erased")
			}
			cmds := sim.Commands()
			if !sim.Running() || cmds[len(cmds)-1] != "reset-app" || cmds[len(cmds)-2] != "go 0x8000000" {
				t.Errorf("commands end %q, want go 0x8000000 and the application running", cmds[max(0, len(cmds)-3):])
			}
		})
	}
}

func TestStm32flashResetEraseRead(t *testing.T) {
	sim, p := startSim(t, stm32test.Options{PID: 0x410})
	img := image(5000, 7)
	f := filepath.Join(t.TempDir(), "fw.bin")
	os.WriteFile(f, img, 0o644)

	stm32flash(t, p.Path, "-w", f, "-v", "-R")
	checkFlash(t, sim.Flash(), img, 0)
	if sim.Running() || !slices.Contains(sim.Commands(), "reset-boot") {
		t.Errorf("-R: commands %q, want a reset back into the bootloader", sim.Commands())
	}

	out := filepath.Join(t.TempDir(), "out.bin")
	stm32flash(t, p.Path, "-r", out, "-S", "0x08000400:1500")
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, img[0x400:0x400+1500]) {
		t.Errorf("-r -S 0x08000400:1500 read %d bytes that differ from the flash", len(got))
	}

	sim.Reset(true)
	stm32flash(t, p.Path, "-o")
	if fl := sim.Flash(); bytes.Count(fl, []byte{0xFF}) != len(fl) {
		t.Error("-o left flash not erased")
	}
	if !slices.Contains(sim.Commands(), "erase all") {
		t.Errorf("-o: commands %q, want a mass erase", sim.Commands())
	}
}
