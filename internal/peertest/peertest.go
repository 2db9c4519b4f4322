// Package peertest finds the real third-party tools that tests run as peers
// (fw_printenv, mkenvimage, grub-editenv, stm32flash, sb/rb,
// systemd-analyze). Without the tool a test skips, except under CI=true,
// where a missing peer is a failure: CI must never pass by skipping.
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

// Need returns the path of tool, or skips t (fails it when CI=true) with the
// Debian package that provides it.
func Need(t testing.TB, tool, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err == nil {
		return p
	}
	msg := "real peer " + tool + " not found; apt-get install " + debianPackage
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a missing peer fails the test)")
	}
	t.Skip(msg)
	return ""
}

// NeedRoot skips t (fails it when CI=true) unless the test runs as root, for
// loop devices and the like.
func NeedRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("needs root: " + why + " (CI=true)")
	}
	t.Skip("needs root: " + why)
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
