package ymodem_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ota-agent/flasher/ymodem"
	"ota-agent/flasher/ymodem/ymodemtest"
	"ota-agent/internal/peertest"
	"ota-agent/platform/serial/serialtest"
)

// startRB runs the real lrzsz rb --ymodem as the device, with stdin and
// stdout on the pty's slave, in an empty directory, killed after a minute.
func startRB(t *testing.T, p *serialtest.Pty) (dir string, wait func() (string, error)) {
	t.Helper()
	rb := peertest.Need(t, "rb", "lrzsz")
	slave, err := os.OpenFile(p.Path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()
	dir = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	cmd := exec.CommandContext(ctx, rb, "--ymodem")
	cmd.Dir, cmd.Stdin, cmd.Stdout = dir, slave, slave
	cmd.WaitDelay = time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	waited := false
	wait = func() (string, error) {
		waited = true
		defer cancel()
		err := cmd.Wait()
		return stderr.String(), err
	}
	t.Cleanup(func() {
		if !waited {
			cancel()
			cmd.Wait()
		}
	})
	return dir, wait
}

func TestSendToRB(t *testing.T) {
	peertest.Need(t, "rb", "lrzsz")
	for _, n := range []int{1, 100, 128, 3 * 1024, 3*1024 + 100, 3*1024 + 129, 20000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			p := openPty(t)
			dir, wait := startRB(t, p)
			data := image(n)
			opts := ymodem.Options{Timeout: 3 * time.Second, StartTimeout: 30 * time.Second, Log: testLog(t)}
			err := ymodem.Send(t.Context(), ymodemtest.NewMasterPort(p, 115200), file("fw-"+fmt.Sprint(n)+".bin", data), opts, nil)
			out, werr := wait()
			if err != nil || werr != nil {
				t.Fatalf("Send = %v; rb = %v; rb said:\n%s", err, werr, out)
			}
			got, err := os.ReadFile(filepath.Join(dir, "fw-"+fmt.Sprint(n)+".bin"))
			if err != nil {
				t.Fatalf("rb wrote no file: %v; rb said:\n%s", err, out)
			}
			if sha256.Sum256(got) != sha256.Sum256(data) {
				t.Errorf("rb received %d bytes with another sha256, want %d bytes", len(got), n)
			}
		})
	}
}

// TestCancelRB checks that CAN CAN on ctx cancel makes the real rb give up.
func TestCancelRB(t *testing.T) {
	p := openPty(t)
	_, wait := startRB(t, p)
	ctx, cancel := context.WithCancelCause(t.Context())
	stop := errors.New("stopped by test")
	progress := func(done, total int64) {
		if done >= 4096 {
			cancel(stop)
		}
	}
	err := ymodem.Send(ctx, ymodemtest.NewMasterPort(p, 115200), file("big.bin", image(200000)), ymodem.Options{StartTimeout: 30 * time.Second}, progress)
	if !errors.Is(err, stop) {
		t.Fatalf("Send = %v, want the cancel cause", err)
	}
	out, werr := wait()
	if werr == nil {
		t.Fatalf("rb exited 0 after CAN CAN; rb said:\n%s", out)
	}
	if ctxErr := context.Cause(ctx); !errors.Is(ctxErr, stop) {
		t.Fatal(ctxErr)
	}
	t.Logf("rb after CAN CAN: %v", werr)
}
