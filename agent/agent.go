package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"ota-agent/agent/config"
	"ota-agent/agent/state"
	"ota-agent/agent/trust"
	"ota-agent/transport"
)

// Notifier hears what the agent is doing (systemd STATUS=); nil is allowed.
type Notifier interface {
	Status(s string)   // a phase change, sent at once
	Progress(s string) // progress, may be throttled
}

// Options configure an Agent.
type Options struct {
	Config  *config.Config
	Store   *state.Store  // opened on Config.Device.StateDir; the caller holds its lock
	API     transport.API // nil: Check fails naming the configured api
	Targets Targets
	HTTP    *http.Client // downloads; nil: NewHTTPClient(Config)
	Notify  Notifier
	// Progress, when set, receives per-component progress (the CLI's bars).
	Progress func(component string, done, total int64)
	Log      *slog.Logger
	// Heartbeat, when set, is called every HeartbeatEvery while the daemon
	// waits between checks (the systemd watchdog's sign of life).
	Heartbeat      func()
	HeartbeatEvery time.Duration
	// ReadOnly loads the state without moving a corrupt file aside (for
	// commands that do not hold the lock, such as check).
	ReadOnly bool
	// Jitter returns a uniform random duration in [0, n); nil: math/rand/v2.
	Jitter func(n time.Duration) time.Duration
}

// Agent runs checks and installs for one device. Its methods may be called
// from several goroutines: installs are serialised by op, state by mu.
type Agent struct {
	o   Options
	cfg *config.Config
	log *slog.Logger

	op sync.Mutex // one install / commit / rollback at a time

	mu sync.Mutex // guards st
	st *state.State

	wake chan struct{} // an approval arrived: check again now

	keys *trust.Keys // [security] keys; none configured = Len() 0
}

// New loads the state and returns an agent. The caller must hold the state
// lock (Store.Lock) before calling anything that changes state.
func New(o Options) (*Agent, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Jitter == nil {
		o.Jitter = func(n time.Duration) time.Duration {
			if n <= 0 {
				return 0
			}
			return rand.N(n)
		}
	}
	if o.HTTP == nil {
		hc, err := NewHTTPClient(o.Config)
		if err != nil {
			return nil, err
		}
		o.HTTP = hc
	}
	var st *state.State
	var err error
	if !o.ReadOnly {
		st, err = o.Store.Load()
	} else {
		st, err = o.Store.Read()
		var ce *state.CorruptError
		if errors.As(err, &ce) {
			st, err = &state.State{Warning: ce.Error()}, nil
		}
	}
	if err != nil {
		return nil, err
	}
	keys, err := o.Config.Security.ParseKeys()
	if err != nil {
		return nil, fmt.Errorf("security: %w", err)
	}
	return &Agent{o: o, cfg: o.Config, log: o.Log.With("component", "agent"), st: st, wake: make(chan struct{}, 1), keys: keys}, nil
}

// snapshot returns a copy of the state.
func (a *Agent) snapshot() *state.State {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.st.Clone()
}

// change applies f to a copy of the state and saves it; only a saved state
// replaces the one in memory, so memory and disk never disagree. Every phase
// change is on disk before the step it announces. f may refuse the change
// by returning an error: then nothing is saved.
func (a *Agent) change(f func(st *state.State) error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	next, err := a.st.Copy()
	if err != nil {
		return fmt.Errorf("copy state: %w", err)
	}
	if err := f(next); err != nil {
		return err
	}
	if err := a.o.Store.Save(next); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	a.st = next
	return nil
}

// mutate is change for an f that always applies.
func (a *Agent) mutate(f func(st *state.State)) error {
	return a.change(func(st *state.State) error { f(st); return nil })
}

// setPhase persists a phase change of component name allowed by the state
// machine (phases.go) and logs it in the one fixed transition form. A
// refused transition or a failed save changes nothing and is logged once.
func (a *Agent) setPhase(name string, to state.Phase, reason string, f func(c *state.Component)) error {
	var from state.Phase
	var target string
	err := a.change(func(st *state.State) error {
		c := st.Component(name)
		from = c.Phase
		if err := checkTransition(from, to); err != nil {
			return fmt.Errorf("component %s: %w", name, err)
		}
		c.Phase = to
		if to != state.Downloading {
			c.Progress.Done = min(c.Progress.Done, c.Progress.Total)
		}
		if f != nil {
			f(c)
		}
		target = c.TargetVersion
		return nil
	})
	if err != nil {
		a.log.Error("state transition not made", "device", name, "from", from, "to", to, "reason", reason, "err", err)
		return err
	}
	a.log.Info("state transition", "device", name, "from", from, "to", to, "version", target, "reason", reason)
	if a.o.Notify != nil {
		a.o.Notify.Status(fmt.Sprintf("%s: %s %s", name, to, target))
	}
	return nil
}

// progress returns a progress callback for component name that updates the
// state in memory (saved with the next phase change) and the notifier.
func (a *Agent) progress(name string) func(done, total int64) {
	return func(done, total int64) {
		a.mu.Lock()
		c := a.st.Component(name)
		c.Progress = state.Progress{Done: done, Total: total}
		target, phase := c.TargetVersion, c.Phase
		a.mu.Unlock()
		if a.o.Notify != nil {
			a.o.Notify.Progress(fmt.Sprintf("%s: %s %s %s", name, phase, target, progressText(done, total)))
		}
		if a.o.Progress != nil {
			a.o.Progress(name, done, total)
		}
	}
}

func progressText(done, total int64) string {
	if total <= 0 {
		return fmt.Sprintf("%d bytes", done)
	}
	return fmt.Sprintf("%d%%", done*100/total)
}

// downloadDir is <state_dir>/download, where packages are staged.
func (a *Agent) downloadDir() string { return filepath.Join(a.o.Store.Dir(), "download") }

// Status returns the status of every component.
func (a *Agent) Status(ctx context.Context) Status {
	return BuildStatus(ctx, a.cfg, a.snapshot())
}

// Approve records approval of held offers of component ("" = all) and wakes
// the daemon loop. It fails when nothing matching is held.
func (a *Agent) Approve(_ context.Context, component string) ([]string, error) {
	var names []string
	err := a.mutate(func(st *state.State) {
		for name, c := range st.Components {
			if c.Held != nil && (component == "" || component == name) {
				c.Held.Approved = true
				names = append(names, name)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		if component == "" {
			return nil, fmt.Errorf("no held offer to approve; `ota-agent status` lists held offers")
		}
		return nil, fmt.Errorf("component %s has no held offer to approve; `ota-agent status` lists held offers", component)
	}
	select {
	case a.wake <- struct{}{}:
	default:
	}
	return names, nil
}
