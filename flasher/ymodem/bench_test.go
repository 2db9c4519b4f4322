package ymodem_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ota-agent/flasher/ymodem"
	"ota-agent/flasher/ymodem/ymodemtest"
	"ota-agent/internal/peertest"
	"ota-agent/platform/serial"
)

const benchBaud = 115200

// wireLimit is the fastest a YMODEM-1K transfer of n bytes can be at baud
// 8N1: 1029 wire bytes per 1024 payload bytes, 10 bits each
// (reference/serial-protocols.md §7.2; 11.2 KiB/s at 115200).
func wireLimit(n int, baud int) time.Duration {
	blocks := (n + 1023) / 1024
	return time.Duration(float64(blocks*ymodem.MaxFrame*10) / float64(baud) * float64(time.Second))
}

// BenchmarkSend256K sends a 256 KiB image at 115200 through the simulator's
// line model, once with our sender and once with lrzsz sb --ymodem -k, and
// reports both times and their efficiency against the YMODEM-1K wire limit.
func BenchmarkSend256K(b *testing.B) {
	sb := peertest.Need(b, "sb", "lrzsz")
	data := image(256 << 10)
	path := filepath.Join(b.TempDir(), "fw256k.bin")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	limit := wireLimit(len(data), benchBaud)
	var ours, theirs time.Duration
	for b.Loop() {
		ours += benchOurs(b, data)
		theirs += benchSB(b, sb, path, data)
	}
	n := float64(b.N)
	b.ReportMetric(ours.Seconds()/n, "ours-s")
	b.ReportMetric(theirs.Seconds()/n, "sb-s")
	b.ReportMetric(100*limit.Seconds()*n/ours.Seconds(), "ours-eff-%")
	b.ReportMetric(100*limit.Seconds()*n/theirs.Seconds(), "sb-eff-%")
	b.ReportMetric(limit.Seconds(), "limit-s")
}

func benchDevice(b *testing.B) (*ymodemtest.Device, string) {
	dev, p := startDevice(b, ymodemtest.Options{Mode: ymodemtest.Lenient, LineRate: true, Report: b, Log: discard()})
	return dev, p.Path
}

func benchOurs(b *testing.B, data []byte) time.Duration {
	dev, path := benchDevice(b)
	port, err := serial.Open(serial.Config{Path: path, Baud: benchBaud})
	if err != nil {
		b.Fatal(err)
	}
	defer port.Close()
	start := time.Now()
	if err := ymodem.Send(context.Background(), port, file("fw256k.bin", data), ymodem.Options{}, nil); err != nil {
		b.Fatal(err)
	}
	d := time.Since(start)
	checkBench(b, dev, data)
	return d
}

func benchSB(b *testing.B, sb, file string, data []byte) time.Duration {
	dev, path := benchDevice(b)
	// Set the line to 115200 first: sb keeps the rate it finds, and the
	// simulator reads it back from the pty.
	port, err := serial.Open(serial.Config{Path: path, Baud: benchBaud})
	if err != nil {
		b.Fatal(err)
	}
	port.Close()
	slave, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer slave.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, sb, "--ymodem", "-k", file)
	cmd.Stdin, cmd.Stdout = slave, slave
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("sb: %v: %s", err, stderr.String())
	}
	d := time.Since(start)
	checkBench(b, dev, data)
	return d
}

func checkBench(b *testing.B, dev *ymodemtest.Device, data []byte) {
	b.Helper()
	f := dev.Files()
	if len(f) != 1 || !bytes.Equal(f[0].Data, data) {
		b.Fatalf("device received %d files, want the image once", len(f))
	}
}
