package main_test

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// forbidden says why the device binary must not link package p, or "" if
// it may: no fake, simulator, demo or test helper of ours (the <pkg>test
// packages, cmd/internal, internal/peertest), no net/http/httptest or
// testing, no pty library. In the manner of tailscale's tstest/deptest.
func forbidden(p string) string {
	switch {
	case p == "net/http/httptest" || p == "testing" || strings.HasPrefix(p, "testing/"):
		return "test library"
	case p == "github.com/creack/pty":
		return "pty library (simulators only)"
	case strings.HasPrefix(p, "ota-agent/cmd/internal/"):
		return "demo harness (ota-sim only)"
	case strings.HasPrefix(p, "ota-agent/internal/"):
		return "test helper"
	case strings.HasPrefix(p, "ota-agent/") && strings.HasSuffix(p, "test"):
		return "fake or simulator (<pkg>test)"
	}
	return ""
}

// deps lists the packages that pkg links for goos/goarch (go list -deps).
func deps(t *testing.T, pkg, goos, goarch string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", pkg)
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s (%s/%s): %v", pkg, goos, goarch, err)
	}
	return strings.Fields(string(out))
}

// violations returns "pkg: why" for each package of list that forbidden
// rejects.
func violations(list []string) []string {
	var v []string
	for _, p := range list {
		if why := forbidden(p); why != "" {
			v = append(v, p+": "+why)
		}
	}
	return v
}

// TestDeviceBinaryDeps: ota-agent, as built for each shipped target, links
// none of the test rig. The same check on ota-sim must find the rig, or the
// check itself is broken.
func TestDeviceBinaryDeps(t *testing.T) {
	for _, arch := range []string{"amd64", "arm64", "arm"} {
		list := deps(t, ".", "linux", arch)
		if !slices.Contains(list, "ota-agent/agent") {
			t.Fatalf("go list -deps . (linux/%s) lacks ota-agent/agent: %v", arch, list)
		}
		if v := violations(list); len(v) > 0 {
			t.Errorf("ota-agent (linux/%s) links the test rig:\n  %s", arch, strings.Join(v, "\n  "))
		}
	}
	sim := violations(deps(t, "../ota-sim", "linux", "amd64"))
	for _, want := range []string{
		"ota-agent/cmd/internal/demo: demo harness (ota-sim only)",
		"github.com/creack/pty: pty library (simulators only)",
		"net/http/httptest: test library",
		"ota-agent/flasher/stm32/stm32test: fake or simulator (<pkg>test)",
	} {
		if !slices.Contains(sim, want) {
			t.Errorf("the check finds no %q in ota-sim, which links it; found %v", want, sim)
		}
	}
}
