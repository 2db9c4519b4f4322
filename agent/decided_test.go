package agent_test

import (
	"context"
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
