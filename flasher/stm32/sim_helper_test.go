package stm32_test

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"

	"ota-agent/flasher/stm32/stm32test"
	"ota-agent/platform/serial/serialtest"
)

// startSim serves a simulated MCU on a fresh pty until the test ends.
func startSim(t testing.TB, opts stm32test.Options) (*stm32test.Sim, *serialtest.Pty) {
	t.Helper()
	if opts.Report == nil {
		opts.Report = t.(stm32test.Reporter)
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	sim, err := stm32test.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	p, err := serialtest.Open("")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := sim.ServePty(ctx, p); err != nil {
			t.Errorf("simulator: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait(); p.Close() })
	return sim, p
}

// image returns n seeded random bytes.
func image(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// checkFlash compares the start of flash with img and wants the rest of the
// erased range untouched (0xFF).
func checkFlash(t testing.TB, flash, img []byte, off int) {
	t.Helper()
	got := flash[off : off+len(img)]
	if !bytes.Equal(got, img) {
		for i := range img {
			if got[i] != img[i] {
				t.Fatalf("flash at +%#x = %#02x, want %#02x (image of %d bytes)", off+i, got[i], img[i], len(img))
			}
		}
	}
}
