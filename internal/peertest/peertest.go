// Package peertest is the one skip policy of the suite, and finds the real
// third-party tools that tests run as peers (fw_printenv, mkenvimage,
// grub-editenv, stm32flash, sb/rb, systemd-analyze, minisign).
//
// A test that cannot run here (a missing peer, no root, a sandbox that
// forbids a mount, no loop device) calls Need, NeedRoot or Unavailable: it
// skips on a developer's machine, and fails wherever the CI variable is set
// to anything (CI=true, CI=1, ...), because CI must never pass by skipping.
// `make test` counts and lists the skips at the end (cmd/internal/testsum).
//
// It is a test helper, not a double of a platform package, so it lives in
// internal/ (importable by every package's tests, by nothing outside the
// module) and imports testing.
package peertest

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// InCI reports whether the CI variable is set to anything, which turns every
// Unavailable into a failure.
func InCI() bool { return os.Getenv("CI") != "" }

// Unavailable skips t with why, or fails it when InCI.
func Unavailable(t testing.TB, why string) {
	t.Helper()
	if InCI() {
		t.Fatal(why + " (CI=" + os.Getenv("CI") + ": a test that cannot run fails)")
		return
	}
	t.Skip(why)
}

// Need returns the path of tool, or skips t (fails it in CI) naming the
// Debian package that provides it.
func Need(t testing.TB, tool, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err == nil {
		return p
	}
	Unavailable(t, "real peer "+tool+" not found; apt-get install "+debianPackage)
	return ""
}

// Run runs the peer tool (found as Need finds it) with args and returns its
// combined output; it fails t when the tool exits non-zero.
func Run(t testing.TB, tool, debianPackage string, args ...string) string {
	t.Helper()
	out, err := exec.Command(Need(t, tool, debianPackage), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v: %s", tool, args, err, out)
	}
	return string(out)
}

// NeedRoot skips t (fails it in CI) unless the test runs as root, for loop
// devices and the like.
func NeedRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "needs root: "+why)
	}
}

// WatchHWM follows the peak resident set (VmHWM) of a running process and
// returns a function that stops watching and gives the last value read, in
// KiB. getrusage's ru_maxrss cannot be used for a child: os/exec starts
// children with vfork, so the child's maximum includes the parent's
// resident set.
func WatchHWM(pid int) func() int64 {
	var last atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	path := fmt.Sprintf("/proc/%d/status", pid)
	go func() {
		defer close(done)
		for {
			if raw, err := os.ReadFile(path); err == nil {
				for _, l := range strings.Split(string(raw), "\n") {
					if f := strings.Fields(l); len(f) > 1 && f[0] == "VmHWM:" {
						if n, _ := strconv.ParseInt(f[1], 10, 64); n > last.Load() {
							last.Store(n)
						}
					}
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() int64 {
		close(stop)
		<-done
		return last.Load()
	}
}
