package serial_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"ota-agent/platform/serial"
	"ota-agent/platform/serial/serialtest"
)

func TestOpenPtyDeadlinesAndLines(t *testing.T) {
	p, err := serialtest.Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	port, err := serial.Open(serial.Config{Path: p.Path, Baud: 921600, Parity: serial.EvenParity})
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	if got := p.Baud(); got != 921600 {
		t.Errorf("simulator reads baud %d, want 921600", got)
	}
	if _, err := p.Master.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2)
	port.SetReadDeadline(time.Now().Add(time.Second))
	if n, err := port.Read(buf); err != nil || string(buf[:n]) != "hi" {
		t.Fatalf("Read = %q, %v; want hi", buf[:n], err)
	}
	start := time.Now()
	port.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := port.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past deadline = %v, want ErrDeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("read returned after %v, deadline was 100ms", d)
	}
	if err := port.SetDTR(true); !errors.Is(err, serial.ErrNoModemLines) {
		t.Errorf("SetDTR on a pty = %v, want ErrNoModemLines", err)
	}
	if err := port.SetBaud(115200); err != nil {
		t.Fatal(err)
	}
	if got := p.Baud(); got != 115200 {
		t.Errorf("after SetBaud simulator reads %d, want 115200", got)
	}
	done := make(chan error, 1)
	port.SetReadDeadline(time.Time{})
	go func() { _, err := port.Read(buf); done <- err }()
	time.Sleep(50 * time.Millisecond)
	port.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Read after Close returned nil error")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not unblock a pending Read")
	}
}

func TestReadFullTimeoutAndCancel(t *testing.T) {
	p, err := serialtest.Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	port, err := serial.Open(serial.Config{Path: p.Path, Baud: 115200})
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	p.Master.Write([]byte("abc"))
	buf := make([]byte, 5)
	n, err := serial.ReadFull(context.Background(), port, buf, 100*time.Millisecond)
	if n != 3 || !errors.Is(err, serial.ErrTimeout) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ReadFull = %d, %v; want 3 and a timeout", n, err)
	}
	p.Master.Write([]byte("defgh"))
	if n, err := serial.ReadFull(context.Background(), port, buf, time.Second); n != 5 || err != nil || string(buf) != "defgh" {
		t.Fatalf("ReadFull = %d %q, %v; want defgh", n, buf[:n], err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := serial.ReadFull(ctx, port, buf, 0); done <- err }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadFull after cancel = %v, want context.Canceled", err)
	}
}
