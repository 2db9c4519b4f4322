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

// Resume applies the restart table (phases.go) to every component: the
// daemon calls it at start, and update and install before anything else.
// Every component is settled even when one fails, and pending A/B installs
// are resolved last; the errors are joined.
func (a *Agent) Resume(ctx context.Context) error {
	errs := []error{a.resumeSet(ctx)}
	resolve := false
	for name, cs := range a.snapshot().Components {
		if nextStep(cs.Phase) == stepResolve {
			resolve = true
			continue
		}
		errs = append(errs, a.settle(ctx, name))
	}
	if resolve {
		_, err := a.ResolvePending(ctx)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// settle applies the restart step of name's persisted phase, unless it
// waits for a boot (stepResolve).
func (a *Agent) settle(ctx context.Context, name string) error {
	cs := a.snapshot().Component(name)
	switch nextStep(cs.Phase) {
	case stepDisarm:
		if err := a.disarm(ctx, name); err != nil {
			return err
		}
		fallthrough
	case stepRetry:
		reason := fmt.Sprintf("interrupted while %s %s; retrying on the next check", cs.Phase, cs.TargetVersion)
		return a.setPhase(name, state.Idle, reason, func(c *state.Component) { c.LastError = reason })
	}
	return nil
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
