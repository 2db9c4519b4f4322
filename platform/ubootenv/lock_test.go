package ubootenv_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ota-agent/internal/peertest"
	"ota-agent/platform/ubootenv"
)

// TestPeerLockBlocksFwSetenv holds the libubootenv lock and checks that
// fw_setenv waits in flock, and stores only after the lock is released.
func TestPeerLockBlocksFwSetenv(t *testing.T) {
	tool := peertest.Need(t, "fw_setenv", "libubootenv-tool")
	r := newRig(t, false, 0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.store.Write(ctx, map[string]string{"x": "old"}); err != nil {
		t.Fatal(err)
	}
	l, err := ubootenv.AcquireLock(ctx, ubootenv.DefaultLockFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tool, "-c", r.cfgPath, "x", "new")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := waitInSyscall(ctx, cmd.Process.Pid, unix.SYS_FLOCK); err != nil {
		l.Unlock()
		cmd.Wait()
		t.Fatal(err)
	}
	if got := r.printenvUnlocked(t); got != "old" {
		t.Errorf("while we hold the lock: x=%s, want old", got)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("fw_setenv: %v", err)
	}
	if got := r.read(t).Vars["x"]; got != "new" {
		t.Errorf("after unlock: x=%s, want new", got)
	}
}

// printenvUnlocked reads x without taking the lock we hold.
func (r *rig) printenvUnlocked(t *testing.T) string {
	t.Helper()
	c, err := ubootenv.LoadConfig(r.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := ubootenv.New(c, ubootenv.Options{NoLock: true})
	e, err := s.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return e.Vars["x"]
}

// waitInSyscall polls /proc/PID/syscall until the process sits in syscall
// nr, so the test knows fw_setenv is blocked without timing anything.
func waitInSyscall(ctx context.Context, pid int, nr int) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/syscall", pid))
		if err != nil {
			return fmt.Errorf("process %d: %w", pid, err)
		}
		if f := strings.Fields(string(b)); len(f) > 0 && f[0] == fmt.Sprint(nr) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("process %d never blocked in syscall %d (last: %q)", pid, nr, b)
		case <-tick.C:
		}
	}
}

func TestLockContextCancel(t *testing.T) {
	path := t.TempDir() + "/lock"
	l, err := ubootenv.AcquireLock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ubootenv.AcquireLock(ctx, path); err == nil {
		t.Error("second AcquireLock with a cancelled ctx succeeded, want an error")
	}
}
