package stm32_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"ota-agent/flasher"
	"ota-agent/flasher/stm32"
	"ota-agent/flasher/stm32/stm32test"
	"ota-agent/internal/peertest"
)

// wireLimit is the time AN3155 needs on a 115200 8E1 line for size bytes
// in 256-byte blocks (serial-protocols.md §7.2): a write is 265 bytes out
// and 3 ACKs back; read-back verify adds 9 bytes out and 3 ACKs plus the
// 256 data bytes back.
func wireLimit(size int, verify bool) time.Duration {
	perBlock := 265 + 3
	if verify {
		perBlock += 9 + 3 + 256
	}
	blocks := (size + 255) / 256
	return time.Duration(blocks*perBlock) * time.Duration(11*int64(time.Second)/115200)
}

// BenchmarkFlash64K flashes 64 KiB into a simulated STM32F103 at 115200
// baud through the simulator's line model (8E1, datasheet erase and
// programming times), with our flasher and with stm32flash, with read-back
// verify and without. Efficiency is the wire limit over the time spent on
// the line (wall time minus the device's own erase/program time).
func BenchmarkFlash64K(b *testing.B) {
	tool := peertest.Need(b, "stm32flash", "stm32flash")
	img := image(64<<10, 64)
	f := filepath.Join(b.TempDir(), "fw.bin")
	os.WriteFile(f, img, 0o644)
	sim, p := startSim(b, stm32test.Options{PID: 0x410, LineModel: true, Service: 1})
	run := func(name string, do func() error) (wall, busy time.Duration) {
		sim.Reset(true)
		sim.SetFlash(bytes.Repeat([]byte{0}, 64<<10))
		before := sim.Stats().Busy
		start := time.Now()
		if err := do(); err != nil {
			b.Fatalf("%s: %v (simulator saw %q)", name, err, sim.Commands()[max(0, len(sim.Commands())-6):])
		}
		wall = time.Since(start)
		if !bytes.Equal(sim.Flash()[:len(img)], img) {
			b.Fatalf("%s: flash differs from the image", name)
		}
		return wall, sim.Stats().Busy - before
	}
	ours := func(verify string) func() error {
		return func() error {
			tg, err := stm32.NewTarget(stm32.TargetConfig{Port: p.Path, Verify: verify})
			if err != nil {
				return err
			}
			return tg.Install(context.Background(), flasher.Image{R: bytes.NewReader(img), Size: int64(len(img))}, nil)
		}
	}
	theirs := func(args ...string) func() error {
		return func() error {
			argv := append([]string{"-b", "115200", "-m", "8n1", "-w", f}, args...)
			out, err := exec.Command(tool, append(argv, "-g", "0x0", p.Path)...).CombinedOutput()
			if err != nil {
				return fmt.Errorf("%w\n%s", err, out)
			}
			return nil
		}
	}
	for range b.N {
		oursV, busyOV := run("ours readback", ours("readback"))
		theirsV, _ := run("stm32flash -v", theirs("-v"))
		oursN, busyON := run("ours none", ours("none"))
		theirsN, _ := run("stm32flash", theirs())
		b.ReportMetric(oursV.Seconds(), "ours_s")
		b.ReportMetric(theirsV.Seconds(), "stm32flash_s")
		b.ReportMetric(oursN.Seconds(), "ours_noverify_s")
		b.ReportMetric(theirsN.Seconds(), "stm32flash_noverify_s")
		b.ReportMetric(100*wireLimit(len(img), true).Seconds()/(oursV-busyOV).Seconds(), "efficiency_%")
		b.ReportMetric(100*wireLimit(len(img), false).Seconds()/(oursN-busyON).Seconds(), "efficiency_noverify_%")
		b.ReportMetric(busyOV.Seconds(), "device_busy_s")
	}
}
