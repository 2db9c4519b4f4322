package agent

import (
	"fmt"
	"slices"

	"ota-agent/agent/state"
)

// The update state machine (SPEC §5, §9), in one table that the code and
// the tests both read. Each persisted phase says where an install may go
// next, whether a slot is armed (nothing else may be installed into the
// component until a boot resolves it), and what a restarted agent does
// about it after a crash, power cut or SIGTERM.
//
//	idle ──▶ downloading ──▶ verifying ──▶ installing ──▶ idle          (file, serial)
//	                                            └──────▶ rebooting ──▶ committing ──▶ idle   (ab)
//	any of downloading…committing ──▶ failed ──▶ downloading (a retry or --force)
var machine = map[state.Phase]phaseRule{
	state.Idle: {restart: stepNone, why: "nothing was in flight",
		next: phases(state.Downloading, state.Failed)},
	state.Downloading: {restart: stepRetry, why: "nothing has touched a target (an ab slot being written is the inactive one); the journal resumes the bytes",
		next: phases(state.Downloading, state.Verifying, state.Failed, state.Idle)},
	state.Verifying: {restart: stepRetry, why: "the image is unpacked or read back again; a slot written in full is only read back (state.Written)",
		next: phases(state.Downloading, state.Verifying, state.Installing, state.Failed, state.Idle)},
	state.Installing: {restart: stepDisarm, why: "a target may be half-written and an ab slot armed just before the cut: disarm, then install the verified image again (counts as an attempt)",
		next: phases(state.Idle, state.Rebooting, state.Failed)}, // idle: installed, or disarmed after a restart
	state.Rebooting: {restart: stepResolve, armed: true, why: "the slot was armed: only the slot booted says whether the bootloader took it",
		next: phases(state.Rebooting, state.Committing, state.Failed)},
	state.Committing: {restart: stepResolve, armed: true, why: "booted into the new slot: health and commit are idempotent",
		next: phases(state.Committing, state.Idle, state.Failed)},
	state.Failed: {restart: stepNone, why: "the failure is recorded (the version is on the failed list once final)",
		next: phases(state.Downloading, state.Failed)},
}

// phaseRule is one row of machine.
type phaseRule struct {
	next    []state.Phase
	restart step
	armed   bool
	why     string
}

func phases(p ...state.Phase) []state.Phase { return p }

// rule returns the row of p; "" is idle (a fresh state).
func rule(p state.Phase) phaseRule {
	if p == "" {
		p = state.Idle
	}
	return machine[p]
}

// armed reports whether phase p holds an armed A/B slot awaiting its boot.
func armed(p state.Phase) bool { return rule(p).armed }

// nextStep is the restart decision for persisted phase p; an unknown phase
// (a newer agent's file) is retried, the safe default.
func nextStep(p state.Phase) step {
	if _, ok := machine[p]; ok || p == "" {
		return rule(p).restart
	}
	return stepRetry
}

// checkTransition refuses a phase change the table does not allow.
func checkTransition(from, to state.Phase) error {
	if from == "" {
		from = state.Idle
	}
	if !slices.Contains(rule(from).next, to) {
		return fmt.Errorf("state machine: %s → %s is not a transition of the update state machine (agent bug; state unchanged)", from, to)
	}
	return nil
}
