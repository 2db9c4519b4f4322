package agent

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"

	"ota-agent/agent/policy"
	"ota-agent/agent/state"
	"ota-agent/platform/memtrim"
	"ota-agent/platform/printable"
	"ota-agent/transport"
)

// Backoff bounds: the first retry after a failed check waits up to
// firstRetry (full jitter), doubling up to poll_interval.
const firstRetry = 30 * time.Second

// Run is the daemon loop (`ota-agent run`): resolve what a restart left,
// then check, install and report, and wait poll_interval plus uniform
// jitter in [0, poll_jitter). A failed check backs off exponentially with
// full jitter, capped at poll_interval and reset by the next success; a
// server's Retry-After is honoured. Held prompt offers are looked at again
// when approved or when prompt_timeout expires, silent ones when the window
// opens. Run returns nil when ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	switch err := a.Resume(ctx); {
	case err == nil, ctx.Err() != nil:
	case errors.Is(err, ErrNotRebooted):
		a.log.Info("A/B install waits for a reboot", "err", err)
	default:
		a.log.Error("pending A/B install resolved as failed", "err", err)
	}
	if err := a.MarkGood(ctx); err != nil && ctx.Err() == nil {
		a.log.Error("booted slot left unmarked; the bootloader will fall back after ab.attempts boots", "err", err)
	}
	bo := a.newBackoff()
	for {
		a.announce("checking " + a.cfg.Server.API)
		_, outs, err := a.Update(ctx, UpdateOptions{NoResolve: true})
		if ctx.Err() != nil {
			return nil
		}
		if installFailed(outs, err) {
			err = nil // logged by the install itself; the check went fine
		}
		_ = a.FlushReports(ctx)
		wait := a.nextWait(err, bo)
		next := time.Now().Add(wait)
		if serr := a.mutate(func(st *state.State) { st.NextCheck = next.UTC() }); serr != nil {
			a.log.Error("state not saved", "err", serr)
		}
		a.announce(a.idleStatus(next, err))
		if err != nil {
			a.log.Warn("check failed; retrying later", "err", err, "wait", wait.Round(time.Second))
		} else {
			a.log.Info("next check", "wait", wait.Round(time.Second))
		}
		// Hours pass until the next check: give the memory the check and
		// any install used back to the OS, so the idle daemon stays small.
		if _, err := memtrim.Trim(); err != nil {
			a.log.Debug("memory not trimmed", "err", err)
		}
		if !a.sleep(ctx, wait) {
			return nil
		}
	}
}

// announce sends s to the notifier at once (systemd STATUS=).
func (a *Agent) announce(s string) {
	if a.o.Notify != nil {
		a.o.Notify.Status(s)
	}
}

// idleStatus is the STATUS= line between checks: when the next check is,
// the offers held for approval and the last error (of the check, or of a
// component's failed install), e.g. "waiting until 2026-05-01T10:00:24Z;
// held for approval: rootfs 2.0.0; last error: check: connection refused".
func (a *Agent) idleStatus(next time.Time, err error) string {
	s := "waiting until " + next.UTC().Format(time.RFC3339)
	st := a.snapshot()
	var held, failed []string
	for _, name := range slices.Sorted(maps.Keys(st.Components)) {
		c := st.Components[name]
		if c.Held != nil && !c.Held.Approved {
			held = append(held, name+" "+c.Held.Offer.Version)
		}
		if c.Phase == state.Failed && c.LastError != "" {
			failed = append(failed, name+": "+c.LastError)
		}
	}
	if len(held) > 0 {
		s += "; held for approval: " + strings.Join(held, ", ")
	}
	if err != nil {
		failed = append([]string{"check: " + err.Error()}, failed...)
	}
	if len(failed) > 0 {
		s += "; last error: " + strings.Join(failed, "; ")
	}
	return printable.String(strings.ReplaceAll(s, "\n", " "))
}

func (a *Agent) newBackoff() *backoff.ExponentialBackOff {
	poll := a.cfg.Server.PollInterval.Duration
	return backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(min(firstRetry, poll)),
		backoff.WithMaxInterval(poll),
		backoff.WithMultiplier(2),
		backoff.WithRandomizationFactor(0), // full jitter is applied by nextWait
		backoff.WithMaxElapsedTime(0),      // never give up: the daemon keeps polling
	)
}

// nextWait returns how long to wait before the next check after err.
func (a *Agent) nextWait(err error, bo *backoff.ExponentialBackOff) time.Duration {
	var wait time.Duration
	if err != nil && retryable(err) {
		wait = a.o.Jitter(bo.NextBackOff())
		if ra, ok := transport.RetryAfter(err); ok && ra > wait {
			wait = ra
		}
		return wait
	}
	bo.Reset()
	wait = a.cfg.Server.PollInterval.Duration + a.o.Jitter(a.cfg.Server.PollJitter.Duration)
	if p, ok := a.o.API.(transport.Poller); ok {
		// The server's own interval (hawkBit sleep) replaces poll_interval;
		// the jitter is capped at a tenth of it so a 5 min sleep stays one.
		if d, ok := p.NextPoll(); ok {
			wait = d + a.o.Jitter(min(a.cfg.Server.PollJitter.Duration, d/10))
		}
	}
	if d, ok := a.heldWake(time.Now()); ok && d < wait {
		wait = d
	}
	return wait
}

// retryable reports whether a failed cycle should back off rather than wait
// a full poll interval: API errors say so themselves; a failed install or a
// configuration error waits for the next regular poll.
func retryable(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.Retryable
	}
	return false
}

// heldWake returns the time until a held offer may be decided differently:
// its prompt_timeout expiring, or the policy window opening.
func (a *Agent) heldWake(now time.Time) (time.Duration, bool) {
	st := a.snapshot()
	best, ok := time.Duration(0), false
	take := func(d time.Duration) {
		if d < 0 {
			d = 0
		}
		if !ok || d < best {
			best, ok = d, true
		}
	}
	timeout := a.cfg.Policy.PromptTimeout.Duration
	for _, c := range st.Components {
		if c.Held == nil {
			continue
		}
		typ := c.Held.Offer.UpgradeType
		if typ == transport.Default {
			typ = transport.UpgradeType(a.cfg.Policy.DefaultUpgradeType)
		}
		if typ == transport.Prompt && timeout > 0 {
			take(c.Held.Since.Add(timeout).Sub(now))
		} else if !a.cfg.Policy.Window.IsZero() {
			take(untilWindow(a.cfg.Policy.Window.Start, now))
		}
	}
	for _, d := range st.Decisions {
		if d.Action == string(policy.Hold) && !a.cfg.Policy.Window.IsZero() && !a.cfg.Policy.Window.Contains(now) {
			take(untilWindow(a.cfg.Policy.Window.Start, now))
		}
	}
	return best, ok
}

// untilWindow returns the time from now until the next local start (an
// offset from local midnight), a minute past it to be safely inside.
func untilWindow(start time.Duration, now time.Time) time.Duration {
	y, m, d := now.Date()
	at := time.Date(y, m, d, 0, 0, 0, 0, now.Location()).Add(start + time.Minute)
	if !at.After(now) {
		at = at.AddDate(0, 0, 1)
	}
	return at.Sub(now)
}

// sleep waits d, or until an approval arrives, or ctx ends (false).
func (a *Agent) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	var beat <-chan time.Time
	if a.o.Heartbeat != nil && a.o.HeartbeatEvery > 0 {
		tk := time.NewTicker(a.o.HeartbeatEvery)
		defer tk.Stop()
		beat = tk.C
	}
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case <-a.wake:
			return true
		case <-beat:
			a.o.Heartbeat()
		}
	}
}

// installFailed reports whether err is one of the installs' own errors
// (already logged and recorded by Install), not a failed check.
func installFailed(outs []Outcome, err error) bool {
	for _, o := range outs {
		if err != nil && o.Err == err {
			return true
		}
	}
	return false
}
