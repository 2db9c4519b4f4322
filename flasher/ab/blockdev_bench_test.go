package ab_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"ota-agent/flasher/ab"
)

// BenchmarkSlotBlockDevice256MiB writes a 256 MiB image into the block
// device OTA_BENCH_SLOT_DEV (root; its content is destroyed: use a loop
// device, e.g. `losetup -f --show --direct-io=on FILE`) the way the engine
// does, read-back verify included, against `dd bs=1M conv=fsync` of the
// same image to the same device, alternating three times; medians. It
// reports the write phase and the Verify tail apart. Skipped without the
// variable.
func BenchmarkSlotBlockDevice256MiB(b *testing.B) {
	dev := os.Getenv("OTA_BENCH_SLOT_DEV")
	if dev == "" {
		b.Skip("set OTA_BENCH_SLOT_DEV to a scratch block device (its content is destroyed)")
	}
	const size, rounds = 256 << 20, 3
	img := filepath.Join(b.TempDir(), "image")
	sum := makeImage(b, img, size)
	var w, v, d []float64
	for b.Loop() {
		for range rounds {
			start := time.Now()
			if msg, err := exec.Command("dd", "if="+img, "of="+dev, "bs=1M", "conv=fsync", "status=none").CombinedOutput(); err != nil {
				b.Fatalf("dd: %v: %s", err, msg)
			}
			d = append(d, time.Since(start).Seconds())
			ws, vs := timeSlot(b, dev, img, size, sum)
			w, v = append(w, ws), append(v, vs)
		}
	}
	b.ReportMetric(median(d), "dd_s")
	b.ReportMetric(median(w), "write_s")
	b.ReportMetric(median(v), "verify_s")
	b.ReportMetric((median(w)+median(v))/median(d), "ratio")
}

// timeSlot writes img into the slot at dev and verifies it; it returns the
// seconds of each phase.
func timeSlot(b *testing.B, dev, img string, size int64, sum []byte) (float64, float64) {
	data, err := os.ReadFile(img)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	s, err := ab.OpenSlot("B", dev, size, nil)
	if err != nil {
		b.Fatal(err)
	}
	for off := int64(0); off < size; off += 256 << 10 {
		if _, err := s.WriteAt(data[off:off+256<<10], off); err != nil {
			b.Fatal(err)
		}
	}
	mid := time.Now()
	if err := s.Verify(b.Context(), size, sum); err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	return mid.Sub(start).Seconds(), time.Since(mid).Seconds()
}
