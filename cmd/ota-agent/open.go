package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"golang.org/x/term"

	"ota-agent/agent"
	"ota-agent/agent/config"
	"ota-agent/agent/state"
)

// session is an agent opened for one command.
type session struct {
	cfg   *config.Config
	store *state.Store
	ag    *agent.Agent
}

// openMode says what a command needs.
type openMode struct {
	lock     bool // take the installer lock (anything that changes state)
	targets  bool // build the component targets (installs, commit, rollback)
	api      bool // build the OTA API client
	progress func(component string, done, total int64)
	notify   agent.Notifier
	// heartbeat is called every beat while the daemon waits (watchdog).
	heartbeat func()
	beat      time.Duration
	// transport, when set, wraps the HTTP client's transport once the
	// configuration is loaded (install PATH answers its file's URL).
	transport func(cfg *config.Config, next http.RoundTripper) (http.RoundTripper, error)
}

// open loads the configuration and opens the agent as m asks.
func (e *env) open(m openMode) (*session, error) {
	cfg, err := e.loadConfig()
	if err != nil {
		return nil, err
	}
	st, err := state.Open(cfg.Device.StateDir, e.log)
	if err != nil {
		return nil, err
	}
	if m.lock {
		if err := st.Lock(); err != nil {
			return nil, err
		}
	}
	s := &session{cfg: cfg, store: st}
	o := agent.Options{Config: cfg, Store: st, Log: e.log, ReadOnly: !m.lock, Progress: m.progress, Notify: m.notify,
		Heartbeat: m.heartbeat, HeartbeatEvery: m.beat}
	if o.HTTP, err = agent.NewHTTPClient(cfg); err != nil {
		return nil, s.fail(&usageError{fmt.Errorf("server TLS settings: %w", err)})
	}
	if m.transport != nil {
		if o.HTTP.Transport, err = m.transport(cfg, o.HTTP.Transport); err != nil {
			return nil, s.fail(err)
		}
	}
	if m.api {
		if o.API, err = agent.NewAPI(cfg, o.HTTP, e.log); err != nil {
			return nil, s.fail(&usageError{err})
		}
	}
	if m.targets {
		if o.Targets, err = agent.NewTargets(cfg, e.log); err != nil {
			return nil, s.fail(&usageError{err})
		}
	}
	if s.ag, err = agent.New(o); err != nil {
		return nil, s.fail(err)
	}
	return s, nil
}

func (s *session) fail(err error) error {
	_ = s.store.Unlock()
	return err
}

// close releases the lock.
func (s *session) close() { _ = s.store.Unlock() }

// viaDaemon runs f against a running daemon; it reports false when none
// listens, so the caller works on the state files itself.
func (e *env) viaDaemon(ctx context.Context, f func(c *agent.LocalClient) error) (bool, error) {
	cfg, err := e.loadConfig()
	if err != nil {
		return true, err
	}
	err = f(agent.NewLocalClient(cfg.Device.StateDir))
	if errors.Is(err, agent.ErrNoDaemon) {
		return false, nil
	}
	return true, err
}

// isTerminal reports whether stdout is a terminal (progress bars).
func (e *env) isTerminal() bool {
	f, ok := e.stdout.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
