package peertest

import (
	"testing"
)

// recorder is a testing.TB that records Skip and Fatal instead of ending
// the goroutine.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()           {}
func (r *recorder) Skip(args ...any)  { r.skipped = args[0].(string) }
func (r *recorder) Fatal(args ...any) { r.failed = args[0].(string) }

// TestPolicy: any non-empty CI turns a missing peer or privilege into a
// failure; an empty or unset CI skips.
func TestPolicy(t *testing.T) {
	for _, tt := range []struct {
		ci         string
		skip, fail string
	}{
		{"", "real peer no-such-tool-x not found; apt-get install pkg-x", ""},
		{"true", "", "real peer no-such-tool-x not found; apt-get install pkg-x (CI=true: a test that cannot run fails)"},
		{"1", "", "real peer no-such-tool-x not found; apt-get install pkg-x (CI=1: a test that cannot run fails)"},
		{"false", "", "real peer no-such-tool-x not found; apt-get install pkg-x (CI=false: a test that cannot run fails)"},
	} {
		t.Setenv("CI", tt.ci)
		r := &recorder{TB: t}
		if p := Need(r, "no-such-tool-x", "pkg-x"); p != "" {
			t.Errorf("CI=%q: Need(missing) = %q, want \"\"", tt.ci, p)
		}
		if r.skipped != tt.skip || r.failed != tt.fail {
			t.Errorf("CI=%q: Need(missing) skipped %q failed %q; want %q, %q", tt.ci, r.skipped, r.failed, tt.skip, tt.fail)
		}
	}
}

// TestNeedFound: a tool on $PATH is returned and nothing is skipped.
func TestNeedFound(t *testing.T) {
	r := &recorder{TB: t}
	if p := Need(r, "sh", "dash"); p == "" || r.skipped != "" || r.failed != "" {
		t.Errorf("Need(sh) = %q, skipped %q, failed %q", p, r.skipped, r.failed)
	}
}
