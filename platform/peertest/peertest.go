// Package peertest finds the real third-party tools that tests run as peers
// (fw_printenv, mkenvimage, grub-editenv, stm32flash, sb/rb,
// systemd-analyze). Without the tool a test skips, except under CI=true,
// where a missing peer is a failure: CI must never pass by skipping.
package peertest

import (
	"os"
	"os/exec"
	"testing"
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
