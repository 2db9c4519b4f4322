package hawkbit_test

import (
	"context"
	"strings"
	"testing"

	"ota-agent/transport/hawkbit/hawkbittest"
)

// TestDecidedSkipClosesFailure: a chunk the policy skips (a downgrade)
// closes its action with failure and the reason, once; the server's action
// is no longer open.
func TestDecidedSkipClosesFailure(t *testing.T) {
	srv, c := newPair(t)
	a := twoChunks(8, hawkbittest.Soft)
	a.Chunks[1].Version = "2.9.0" // older than the running mcu 3.0.0
	srv.Add(a)
	ctx := context.Background()
	offers, err := c.Check(ctx, dev)
	if err != nil || len(offers) != 2 {
		t.Fatalf("Check = %+v, %v", offers, err)
	}
	why := "older than current 3.0.0 and allow_downgrade is false"
	for range 2 {
		if err := c.Decided(ctx, offers[0], "install", ""); err != nil {
			t.Fatal(err)
		}
		if err := c.Decided(ctx, offers[1], "skip", why); err != nil {
			t.Fatal(err)
		}
	}
	checkFeedback(t, srv, []string{"closed/failure"})
	fb := srv.Feedback()
	if want := "mcu 2.9.0 refused by the device's policy: " + why; fb[0].Details[0] != want {
		t.Errorf("detail %q, want %q", fb[0].Details[0], want)
	}
	if st := srv.State(8); st != hawkbittest.Errored {
		t.Errorf("state %s, want ERROR", st)
	}
}

// TestDecidedSkipLeavesWaitingActions: skips that are not refusals send
// nothing: a chunk already at its version, an offer the client refused
// itself (closed maintenance window: it waits), a hold.
func TestDecidedSkipLeavesWaitingActions(t *testing.T) {
	srv, c := newPair(t)
	a := twoChunks(9, hawkbittest.Soft)
	a.Chunks[1].Version = "3.0.0" // the running mcu
	a.Window = hawkbittest.WindowClosed
	srv.Add(a)
	ctx := context.Background()
	offers, err := c.Check(ctx, dev)
	if err != nil || len(offers) != 2 || !strings.Contains(offers[0].Refused, "maintenance window") {
		t.Fatalf("Check = %+v, %v", offers, err)
	}
	for _, o := range offers {
		if err := c.Decided(ctx, o, "skip", "turned down by the API client: "+o.Refused); err != nil {
			t.Fatal(err)
		}
	}
	srv.SetWindow(9, hawkbittest.WindowOpen)
	if offers, err = c.Check(ctx, dev); err != nil || offers[0].Refused != "" {
		t.Fatalf("Check with the window open = %+v, %v", offers, err)
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.Decided(ctx, offers[0], "hold", "prompt: waiting for approve"))
	must(c.Decided(ctx, offers[1], "skip", "already at version 3.0.0"))
	checkFeedback(t, srv, nil)
	if st := srv.State(9); st != hawkbittest.Running {
		t.Errorf("state %s, want RUNNING", st)
	}
}
