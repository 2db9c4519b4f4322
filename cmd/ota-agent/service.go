package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/kardianos/service"

	"ota-agent/platform/systemd"
)

// stopLimit is how long Stop waits for the daemon to finish its step.
const stopLimit = 20 * time.Second

// program adapts `run` to kardianos/service: Start launches it in a
// goroutine and returns; Stop cancels it and waits, at most stopLimit.
type program struct {
	e      *env
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	err    error
}

// Start implements service.Interface.
func (p *program) Start(service.Service) error {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	go func() {
		defer close(p.done)
		err := cmdRun(ctx, p.e)
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
	}()
	return nil
}

// Stop implements service.Interface.
func (p *program) Stop(service.Service) error {
	p.cancel()
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.err
	case <-time.After(stopLimit):
		return fmt.Errorf("daemon did not stop within %s", stopLimit)
	}
}

// serviceConfig is the unit ota-agent installs: `ota-agent -c FILE run`
// from the current executable, with the unit of platform/systemd.
func serviceConfig(e *env) (*service.Config, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	cfgPath, err := filepath.Abs(e.cfgPath)
	if err != nil {
		return nil, err
	}
	return &service.Config{
		Name:        systemd.ServiceName,
		DisplayName: "ota-agent",
		Description: "ota-agent firmware update agent",
		Executable:  exe,
		Arguments:   []string{"-c", cfgPath, "--log-format", e.logFormat, "--log-level", e.logLevel, "run"},
		Option:      service.KeyValue{"SystemdScript": systemd.UnitTemplate},
	}, nil
}

func cmdService(_ context.Context, e *env) error {
	if len(e.args) != 1 || !slices.Contains([]string{"install", "uninstall", "start", "stop", "status"}, e.args[0]) {
		return usagef("service: want install, uninstall, start, stop or status")
	}
	sc, err := serviceConfig(e)
	if err != nil {
		return err
	}
	if p := service.Platform(); p != "linux-systemd" {
		return fmt.Errorf("service %s: this host is not running systemd (service manager detected: %s); the unit needs systemd as PID 1", e.args[0], p)
	}
	svc, err := service.New(&program{e: e}, sc)
	if err != nil {
		return fmt.Errorf("service: %w", err)
	}
	switch action := e.args[0]; action {
	case "install":
		if _, err := e.loadConfig(); err != nil {
			return err // refuse to install a service that cannot start
		}
		return serviceDo(e, action, svc.Install)
	case "uninstall":
		return serviceDo(e, action, svc.Uninstall)
	case "start":
		return serviceDo(e, action, svc.Start)
	case "stop":
		return serviceDo(e, action, svc.Stop)
	case "status":
		st, err := svc.Status()
		if err != nil && !errors.Is(err, service.ErrNotInstalled) {
			return fmt.Errorf("service status: %w", err)
		}
		fmt.Fprintln(e.stdout, statusText(st, err))
		return nil
	}
	return usagef("service: unknown action %q (want install, uninstall, start, stop or status)", e.args[0])
}

func serviceDo(e *env, action string, f func() error) error {
	if err := f(); err != nil {
		return fmt.Errorf("service %s: %w; run as root on a systemd host", action, err)
	}
	fmt.Fprintf(e.stdout, "service %s: done\n", action)
	return nil
}

func statusText(s service.Status, err error) string {
	switch {
	case err != nil:
		return "not installed"
	case s == service.StatusRunning:
		return "running"
	case s == service.StatusStopped:
		return "stopped"
	}
	return "unknown"
}

// cmdDaemon is `ota-agent run`: started by the service manager (not
// interactive) it goes through the kardianos adapter, from a shell straight
// to cmdRun. Both stop on SIGTERM/SIGINT through ctx.
func cmdDaemon(ctx context.Context, e *env) error {
	if service.Interactive() {
		return cmdRun(ctx, e)
	}
	sc, err := serviceConfig(e)
	if err != nil {
		return err
	}
	p := &program{e: e}
	sc.Option["RunWait"] = func() {
		select {
		case <-ctx.Done():
		case <-p.done:
		}
	}
	svc, err := service.New(p, sc)
	if err != nil {
		return fmt.Errorf("service: %w", err)
	}
	return svc.Run()
}
