package esprom_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"ota-agent/flasher"
	"ota-agent/flasher/esprom"
	"ota-agent/flasher/esprom/espromtest"
	"ota-agent/platform/serial"
	"ota-agent/platform/serial/serialtest"
)

func serveSim(t *testing.T, opts espromtest.Options) (*espromtest.Sim, string) {
	t.Helper()
	opts.Fatalf = t.Errorf
	sim := espromtest.New(opts)
	p, err := serialtest.Open("")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sim.Serve(ctx, p); close(done) }()
	t.Cleanup(func() { cancel(); <-done; p.Close() })
	return sim, p.Path
}

func TestTargetInstall(t *testing.T) {
	sim, path := serveSim(t, espromtest.Options{})
	tg, err := esprom.NewTarget(esprom.TargetConfig{Port: path, Baud: 460800, Chip: "esp32", Offset: 0x10000})
	if err != nil {
		t.Fatal(err)
	}
	img := firmware(200_000, 9)
	if err := tg.Install(t.Context(), flasher.Image{R: bytes.NewReader(img), Size: int64(len(img)), Version: "2"}, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sim.Flash(0x10000, len(img)), img) || sim.Runs() != 1 {
		t.Error("flash differs from the image or the firmware was not started")
	}
}

func TestTargetEnterOnPty(t *testing.T) {
	_, path := serveSim(t, espromtest.Options{})
	for _, enter := range []string{"classic", "-rts&dtr,rts"} {
		tg, err := esprom.NewTarget(esprom.TargetConfig{Port: path, Enter: enter})
		if err != nil {
			t.Fatal(err)
		}
		err = tg.Install(t.Context(), flasher.Image{R: bytes.NewReader([]byte{1}), Size: 1}, nil)
		if !errors.Is(err, serial.ErrNoModemLines) {
			t.Errorf("enter %q on a pty = %v, want ErrNoModemLines", enter, err)
		}
	}
	if _, err := esprom.NewTarget(esprom.TargetConfig{Port: path, Enter: "wiggle"}); err == nil {
		t.Error("NewTarget with enter \"wiggle\" = nil error")
	}
}
