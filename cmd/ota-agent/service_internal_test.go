package main

import (
	"slices"
	"testing"
)

// TestServiceStatusVerdict: service status prints what systemctl show says
// and exits like systemctl is-active: 0 running, 3 stopped or failed, 4 not
// installed.
func TestServiceStatusVerdict(t *testing.T) {
	for _, tt := range []struct {
		u    unitState
		line string
		code int
	}{
		{unitState{"loaded", "active", "running", "waiting until 2026-05-01T10:00:00Z"}, "running: waiting until 2026-05-01T10:00:00Z", 0},
		{unitState{"loaded", "active", "running", ""}, "running", 0},
		{unitState{"loaded", "inactive", "dead", ""}, "stopped", 3},
		{unitState{"loaded", "failed", "failed", "stopped: bad config"}, "failed (failed): stopped: bad config", 3},
		{unitState{"loaded", "activating", "auto-restart", ""}, "activating (auto-restart)", 3},
		{unitState{"not-found", "inactive", "dead", ""}, "not installed", 4},
		{unitState{"loaded", "active", "running", "x\x1b[2Jy"}, `running: x\x1b[2Jy`, 0},
	} {
		line, code := tt.u.verdict()
		if line != tt.line || code != tt.code {
			t.Errorf("%+v: %q exit %d, want %q exit %d", tt.u, line, code, tt.line, tt.code)
		}
	}
}

// TestServiceUnitLogsAtInfo: the unit runs the daemon at info unless
// service install --log-level says otherwise, whatever level the one-shot
// command itself logs at (warn).
func TestServiceUnitLogsAtInfo(t *testing.T) {
	e := &env{cfgPath: "/etc/ota-agent/agent.toml", logFormat: "text", logLevel: "warn"}
	for _, level := range []string{"info", "debug"} {
		sc, err := serviceConfig(e, level)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"-c", "/etc/ota-agent/agent.toml", "--log-format", "text", "--log-level", level, "run"}
		if !slices.Equal(sc.Arguments, want) {
			t.Errorf("level %s: arguments %q, want %q", level, sc.Arguments, want)
		}
	}
}

// TestExitStatusReport: a result with its own exit status prints nothing
// on stderr and exits with it.
func TestExitStatusReport(t *testing.T) {
	var b syncBuffer
	if code := report(&b, exitStatus(exitNotInstalled)); code != 4 || b.String() != "" {
		t.Errorf("report(exitStatus(4)) = %d, stderr %q; want 4, nothing", code, b.String())
	}
}
