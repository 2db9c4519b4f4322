package agent

import (
	"context"
	"errors"
	"fmt"

	"ota-agent/agent/state"
	"ota-agent/flasher/ab"
)

// step is what a restarted agent does about a component's persisted phase.
type step int

const (
	stepNone    step = iota // nothing in progress
	stepRetry               // drop back to idle; the next check offers it again and the download resumes from its journal
	stepDisarm              // like stepRetry, but an A/B target is disarmed first
	stepResolve             // an A/B install waits for its verdict: ResolvePending
)

// nextStep is the restart table: it maps each persisted phase to the next
// safe step after a crash, power cut or SIGTERM.
func nextStep(p state.Phase) step {
	switch p {
	case state.Idle, state.Failed, "":
		// Nothing was in flight; a failed version is already on the list.
		return stepNone
	case state.Downloading, state.Verifying:
		// Nothing has touched a target yet (an ab slot being written is the
		// inactive one, never booted). The journal lets the next attempt
		// resume where the bytes stopped.
		return stepRetry
	case state.Installing:
		// A serial/file target may be half-written and an ab slot may be
		// written but not armed (arming is one environment write). Installing
		// the verified image again is safe; it counts as another attempt, so
		// an image that kills the agent every time ends on the failed list.
		// For ab, Arm may have happened just before the crash: disarm first
		// (stepDisarm) so a later reboot cannot land in a slot being rewritten.
		return stepDisarm
	case state.Rebooting, state.Committing:
		// The slot was armed: only the slot we booted says whether the
		// bootloader took it or rolled back. Health and commit are idempotent.
		return stepResolve
	}
	return stepRetry
}

// Resume applies the restart table to every component; the daemon calls it
// at start. It returns ResolvePending's error (a rollback, say).
func (a *Agent) Resume(ctx context.Context) error {
	resolve := false
	for name, cs := range a.snapshot().Components {
		switch nextStep(cs.Phase) {
		case stepDisarm:
			if err := a.disarm(ctx, name); err != nil {
				return err
			}
			fallthrough
		case stepRetry:
			reason := fmt.Sprintf("interrupted while %s %s; retrying on the next check", cs.Phase, cs.TargetVersion)
			if err := a.setPhase(name, state.Idle, reason, func(c *state.Component) { c.LastError = reason }); err != nil {
				return err
			}
		case stepResolve:
			resolve = true
		}
	}
	if !resolve {
		return nil
	}
	_, err := a.ResolvePending(ctx)
	return err
}

// disarm undoes a possible Arm of an interrupted A/B install of name.
func (a *Agent) disarm(ctx context.Context, name string) error {
	t := a.o.Targets.AB[name]
	if t == nil {
		return nil // not an ab component
	}
	if err := t.Rollback(ctx); err != nil && !errors.Is(err, ab.ErrNothingPending) {
		return fmt.Errorf("component %s: disarm interrupted install: %w", name, err)
	}
	return nil
}
