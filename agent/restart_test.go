package agent

import (
	"slices"
	"testing"

	"ota-agent/agent/state"
)

// TestMachineTable checks the table itself: every persisted phase has a
// row, every transition lands on a phase with a row, the armed phases are
// exactly those resolved by a boot, and from every phase an install can
// end (idle or failed) without passing an unverified arm.
func TestMachineTable(t *testing.T) {
	all := []state.Phase{state.Idle, state.Downloading, state.Verifying, state.Installing, state.Rebooting, state.Committing, state.Failed}
	for _, p := range all {
		r, ok := machine[p]
		if !ok {
			t.Fatalf("phase %s has no row", p)
		}
		if r.why == "" {
			t.Errorf("phase %s: restart decision not explained", p)
		}
		for _, n := range r.next {
			if _, ok := machine[n]; !ok {
				t.Errorf("%s → %s: target has no row", p, n)
			}
		}
		if r.armed != (r.restart == stepResolve) {
			t.Errorf("phase %s: armed=%v but restart step %d", p, r.armed, r.restart)
		}
		if !reaches(p, state.Idle) && !reaches(p, state.Failed) {
			t.Errorf("phase %s can never end", p)
		}
	}
	if nextStep("") != stepNone || nextStep("from-a-newer-agent") != stepRetry {
		t.Error("fresh or unknown phases: want none and retry")
	}
	// Arming happens only from installing, which is reached only after
	// verifying (the read-back or unpack check).
	for p, r := range machine {
		if slices.Contains(r.next, state.Rebooting) && p != state.Installing && p != state.Rebooting {
			t.Errorf("%s → rebooting: a slot may be armed only from installing", p)
		}
		if slices.Contains(r.next, state.Installing) && p != state.Verifying {
			t.Errorf("%s → installing: installing must follow verifying", p)
		}
	}
	if err := checkTransition(state.Downloading, state.Rebooting); err == nil {
		t.Error("downloading → rebooting allowed")
	}
}

// reaches reports whether phase to can be reached from from.
func reaches(from, to state.Phase) bool {
	seen := map[state.Phase]bool{}
	var walk func(p state.Phase) bool
	walk = func(p state.Phase) bool {
		if p == to {
			return true
		}
		if seen[p] {
			return false
		}
		seen[p] = true
		for _, n := range machine[p].next {
			if walk(n) {
				return true
			}
		}
		return false
	}
	return walk(from)
}
