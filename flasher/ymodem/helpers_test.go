package ymodem_test

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"testing"

	"ota-agent/flasher/ymodem"
	"ota-agent/flasher/ymodem/ymodemtest"
	"ota-agent/platform/serial"
	"ota-agent/platform/serial/serialtest"
)

// image returns n pseudo-random bytes, the same for the same n.
func image(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 8))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startDevice serves a simulated receiver on a fresh pty and returns it with
// the pty; it stops when the test ends.
func startDevice(t testing.TB, opts ymodemtest.Options) (*ymodemtest.Device, *serialtest.Pty) {
	t.Helper()
	p, err := serialtest.Open("")
	if err != nil {
		t.Fatal(err)
	}
	if opts.LineRate {
		opts.Baud = p.Baud
	}
	if opts.Report == nil {
		opts.Report = t.(ymodemtest.Reporter)
	}
	if opts.Log == nil {
		opts.Log = testLog(t).With("side", "device")
	}
	dev := ymodemtest.New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- dev.Serve(ctx, p.Master) }()
	t.Cleanup(func() {
		cancel()
		<-done
		p.Close()
	})
	return dev, p
}

// openHost opens the pty's slave as the agent would open a UART.
func openHost(t testing.TB, p *serialtest.Pty, baud int) *serial.File {
	t.Helper()
	port, err := serial.Open(serial.Config{Path: p.Path, Baud: baud})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { port.Close() })
	return port
}

func file(name string, data []byte) ymodem.File {
	return ymodem.File{Name: name, Size: int64(len(data)), R: bytes.NewReader(data)}
}

func openPty(t testing.TB) *serialtest.Pty {
	t.Helper()
	p, err := serialtest.Open("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
