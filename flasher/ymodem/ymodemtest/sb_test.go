package ymodemtest_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ota-agent/flasher/ymodem/ymodemtest"
	"ota-agent/internal/peertest"
	"ota-agent/platform/serial/serialtest"
)

func image(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 8))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// serve runs a device with opts on a new pty until the test ends.
func serve(t *testing.T, opts ymodemtest.Options) (*ymodemtest.Device, *serialtest.Pty) {
	t.Helper()
	p, err := serialtest.Open("")
	if err != nil {
		t.Fatal(err)
	}
	opts.Report = t
	opts.Log = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
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

// runSB runs the real lrzsz sb --ymodem with stdin and stdout on the pty's
// slave, killed after a minute.
func runSB(t *testing.T, p *serialtest.Pty, args ...string) {
	t.Helper()
	sb := peertest.Need(t, "sb", "lrzsz")
	slave, err := os.OpenFile(p.Path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, sb, append([]string{"--ymodem"}, args...)...)
	cmd.Stdin, cmd.Stdout = slave, slave
	cmd.WaitDelay = time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("sb %v: %v; sb said:\n%s", args, err, stderr.String())
	}
}

func TestSBIntoDevice(t *testing.T) {
	peertest.Need(t, "sb", "lrzsz")
	for _, mode := range []ymodemtest.Mode{ymodemtest.Lenient, ymodemtest.Strict} {
		for _, k := range []bool{true, false} {
			for _, n := range []int{0, 100, 2148, 3 * 1024, 100000} {
				name := fmt.Sprintf("%s/k=%v/%d", mode, k, n)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					dev, p := serve(t, ymodemtest.Options{Mode: mode, Timeout: 200 * time.Millisecond,
						EraseBase: 50 * time.Millisecond, ErasePerKiB: time.Millisecond})
					data := image(n)
					path := filepath.Join(t.TempDir(), fmt.Sprintf("img-%d.bin", n))
					if err := os.WriteFile(path, data, 0o644); err != nil {
						t.Fatal(err)
					}
					args := []string{path}
					if k {
						args = []string{"-k", path}
					}
					runSB(t, p, args...)
					files := dev.Files()
					if len(files) != 1 {
						t.Fatalf("device has %d files, want 1", len(files))
					}
					f := files[0]
					if f.Name != filepath.Base(path) || f.Size != int64(n) || !bytes.Equal(f.Data, data) {
						t.Errorf("device got %q size %d (%d bytes, equal %v), want %q size %d",
							f.Name, f.Size, len(f.Data), bytes.Equal(f.Data, data), filepath.Base(path), n)
					}
				})
			}
		}
	}
}
