package esprom_test

import (
	"context"
	"math/rand"
	"slices"
	"testing"

	"ota-agent/flasher/esprom"
	"ota-agent/flasher/esprom/espromtest"
)

// TestIncompressibleImageWritesPlain: an image that does not deflate
// (random, encrypted or already compressed) goes out plain, as esptool
// --no-stub sends it, because compressing it would only add a block and
// the zlib framing; an image that deflates goes out compressed.
func TestIncompressibleImageWritesPlain(t *testing.T) {
	random := make([]byte, 16<<10)
	rand.New(rand.NewSource(7)).Read(random)
	for _, tt := range []struct {
		name  string
		img   []byte
		begin esprom.Op
		data  esprom.Op
	}{
		{"random", random, esprom.OpFlashBegin, esprom.OpFlashData},
		{"firmware", firmware(16<<10, 8), esprom.OpFlashDeflBegin, esprom.OpFlashDeflData},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := start(t, espromtest.Options{})
			if err := r.flasher(t, esprom.Config{}).Flash(context.Background(), tt.img, nil); err != nil {
				t.Fatal(err)
			}
			r.check(t, tt.img)
			ops := r.sim.Ops()
			if !slices.Contains(ops, tt.begin) || !slices.Contains(ops, tt.data) {
				t.Errorf("ops %v, want %v and %v", ops, tt.begin, tt.data)
			}
			if tt.begin == esprom.OpFlashBegin && slices.Contains(ops, esprom.OpFlashDeflBegin) {
				t.Errorf("ops %v: tried a compressed write of an incompressible image", ops)
			}
			if n := count(ops, tt.data); n > len(tt.img)/1024 {
				t.Errorf("%d data blocks for %d bytes, want at most %d", n, len(tt.img), len(tt.img)/1024)
			}
		})
	}
}

func count(ops []esprom.Op, op esprom.Op) int {
	n := 0
	for _, o := range ops {
		if o == op {
			n++
		}
	}
	return n
}
