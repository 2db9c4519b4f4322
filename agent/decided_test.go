package agent_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ota-agent/agent"
	"ota-agent/transport/hawkbit/hawkbittest"
)

// TestHawkbitSkippedOfferClosesAction: check leaves an action whose only
// chunk is a downgrade open; update, whose decision is final, closes it
// with failure and the policy's reason, once, and installs nothing.
func TestHawkbitSkippedOfferClosesAction(t *testing.T) {
	r := newHawkbitRig(t)
	a := hawkbitAction(44)
	a.Chunks = a.Chunks[1:]
	a.Chunks[0].Version = "2.9.0" // the device runs mcu 3.0.0
	r.srv.Add(a)
	ctx := context.Background()
	if _, err := r.ag.Check(ctx, agent.CheckOptions{}); err != nil {
		t.Fatal(err)
	}
	if fb := r.srv.Feedback(); len(fb) != 0 || r.srv.State(44) != hawkbittest.Running {
		t.Fatalf("after check: feedback %+v, state %s; want none and RUNNING", fb, r.srv.State(44))
	}
	for range 2 {
		if _, outs, err := r.ag.Update(ctx, agent.UpdateOptions{}); err != nil || len(outs) != 0 {
			t.Fatalf("Update = %+v, %v; want nothing installed", outs, err)
		}
	}
	fb := r.srv.Feedback()
	if len(fb) != 1 || fb[0].Execution != "closed" || fb[0].Finished != "failure" {
		t.Fatalf("feedback %+v, want one closed/failure", fb)
	}
	if d := fb[0].Details[0]; !strings.Contains(d, "mcu 2.9.0 refused by the device's policy: older than current 3.0.0") {
		t.Errorf("detail %q", d)
	}
	if st := r.srv.State(44); st != hawkbittest.Errored {
		t.Errorf("state %s, want ERROR", st)
	}
}

// TestHawkbitDownloadOnlyFetchedByUpdate: `check` of a download-only
// action fetches no artifact and sends nothing; update fetches and
// verifies both, reports downloaded once, and installs nothing.
func TestHawkbitDownloadOnlyFetchedByUpdate(t *testing.T) {
	r := newHawkbitRig(t)
	a := hawkbitAction(45)
	a.Type = hawkbittest.DownloadOnly
	r.srv.Add(a)
	ctx := context.Background()
	if _, err := r.ag.Check(ctx, agent.CheckOptions{}); err != nil {
		t.Fatal(err)
	}
	fetched := func() (n int) {
		for _, q := range r.srv.Requests() {
			if strings.Contains(q.Path, "/artifacts/") {
				n++
			}
		}
		return n
	}
	if n, fb := fetched(), r.srv.Feedback(); n != 0 || len(fb) != 0 {
		t.Fatalf("check fetched %d artifacts and sent %+v; want nothing", n, fb)
	}
	for range 2 {
		if _, outs, err := r.ag.Update(ctx, agent.UpdateOptions{}); err != nil || len(outs) != 0 {
			t.Fatalf("Update = %+v, %v; want nothing installed", outs, err)
		}
	}
	fb := r.srv.Feedback()
	if n := fetched(); n != 2 || len(fb) != 1 || fb[0].Execution != "downloaded" || r.srv.State(45) != hawkbittest.Downloaded {
		t.Errorf("fetched %d, feedback %+v, state %s; want 2, one downloaded, DOWNLOADED", n, fb, r.srv.State(45))
	}
	for _, name := range []string{"app.bin", "mcu.bin"} {
		if _, err := os.Stat(filepath.Join(r.dir, "etc", name)); err == nil {
			t.Errorf("%s installed by a download-only action", name)
		}
	}
}
