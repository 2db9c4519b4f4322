package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"ota-agent/agent/config"
	"path/filepath"
	"slices"
	"strings"
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

// serviceConfig is the unit ota-agent installs: `ota-agent -c FILE
// --log-level LEVEL run` from the current executable, with the unit of
// platform/systemd. level is the daemon's log level (info by default: the
// one-shot commands' warn would keep transitions out of the journal).
func serviceConfig(e *env, level string) (*service.Config, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	cfgPath, err := filepath.Abs(e.cfgPath)
	if err != nil {
		return nil, fmt.Errorf("configuration path %s: %w", e.cfgPath, err)
	}
	return &service.Config{
		Name:        systemd.ServiceName,
		DisplayName: "ota-agent",
		Description: unitDescription,
		Executable:  exe,
		Arguments:   []string{"-c", cfgPath, "--log-format", e.logFormat, "--log-level", level, "run"},
		Option:      service.KeyValue{"SystemdScript": systemd.UnitTemplate(cfgPath, stateDirOf(cfgPath))},
	}, nil
}

// stateDirOf is the state_dir of the configuration at path, or the
// default when it cannot be read yet (a package installs the unit first).
func stateDirOf(path string) string {
	if cfg, err := config.Load(path); err == nil && cfg.Device.StateDir != "" {
		return cfg.Device.StateDir
	}
	return config.DefaultStateDir
}

// unitDescription is the unit's Description=.
const unitDescription = "ota-agent firmware update agent"

// serviceActions are the words `ota-agent service` takes.
var serviceActions = []string{"install", "uninstall", "start", "stop", "status"}

// cmdService is `ota-agent service ACTION`: install (with --log-level,
// default info, for the daemon), uninstall, start, stop, and status, which
// exits like `systemctl is-active`.
func cmdService(ctx context.Context, e *env) error {
	if len(e.args) == 0 || !slices.Contains(serviceActions, e.args[0]) {
		return usagef("service: want install, uninstall, start, stop or status")
	}
	action := e.args[0]
	fs := flag.NewFlagSet("service", flag.ContinueOnError)
	level := "info"
	if action == "install" {
		fs.StringVar(&level, "log-level", "info", "the daemon's log level")
	}
	e.args = e.args[1:]
	if _, err := e.flags("service "+action, fs, 0); err != nil {
		return err
	}
	if p := service.Platform(); p != "linux-systemd" {
		return fmt.Errorf("service %s: this host is not running systemd (service manager detected: %s); the unit needs systemd as PID 1", action, p)
	}
	if action == "status" {
		return serviceStatus(ctx, e)
	}
	sc, err := serviceConfig(e, level)
	if err != nil {
		return err
	}
	svc, err := service.New(&program{e: e}, sc)
	if err != nil {
		return fmt.Errorf("service: %w", err)
	}
	return serviceAct(e, action, level, svc)
}

// serviceAct runs install, uninstall, start or stop on svc.
func serviceAct(e *env, action, level string, svc service.Service) error {
	switch action {
	case "install":
		if _, err := e.loadConfig(); err != nil {
			return err // refuse to install a service that cannot start
		}
		if _, err := newLogger(io.Discard, "text", level); err != nil {
			return err
		}
		return serviceDo(e, action, svc.Install)
	case "uninstall":
		// A unit removed while it runs keeps running: stop it first.
		return serviceDo(e, action, func() error { _ = svc.Stop(); return svc.Uninstall() })
	case "start":
		return serviceDo(e, action, svc.Start)
	}
	return serviceDo(e, action, svc.Stop)
}

func serviceDo(e *env, action string, f func() error) error {
	if err := f(); err != nil {
		return fmt.Errorf("service %s: %w; run as root on a systemd host", action, err)
	}
	fmt.Fprintf(e.stdout, "service %s: done\n", action)
	return nil
}

// Exit statuses of `service status`, those of `systemctl is-active` (LSB):
// 0 running, 3 not running, 4 no such unit.
const (
	exitStopped      = 3
	exitNotInstalled = 4
)

// exitStatus is a result with its own exit status and nothing to report on
// stderr (service status: stopped, not installed).
type exitStatus int

func (e exitStatus) Error() string { return "" }

// ExitCode is the process exit status (main's report).
func (e exitStatus) ExitCode() int { return int(e) }

// serviceStatus prints one line (running, stopped, failed, activating,
// deactivating or not installed, and the daemon's STATUS= text) and
// returns exitStatus 3 or 4 unless the unit is active.
func serviceStatus(ctx context.Context, e *env) error {
	u, err := showUnit(ctx, systemd.ServiceName+".service")
	if err != nil {
		return err
	}
	line, code := u.verdict()
	fmt.Fprintln(e.stdout, line)
	if code != 0 {
		return exitStatus(code)
	}
	return nil
}

// unitState is what `systemctl show` says of a unit.
type unitState struct{ load, active, sub, status string }

// showUnit asks systemctl for the load and active states and STATUS= of
// name.
func showUnit(ctx context.Context, name string) (unitState, error) {
	out, err := exec.CommandContext(ctx, "systemctl", "show", "--property=LoadState,ActiveState,SubState,StatusText", name).Output()
	if err != nil {
		return unitState{}, fmt.Errorf("service status: systemctl show %s: %w; is systemd running?", name, err)
	}
	var u unitState
	for _, l := range strings.Split(string(out), "\n") {
		k, v, _ := strings.Cut(l, "=")
		switch k {
		case "LoadState":
			u.load = v
		case "ActiveState":
			u.active = v
		case "SubState":
			u.sub = v
		case "StatusText":
			u.status = v
		}
	}
	return u, nil
}

// verdict is the status line and exit status of u.
func (u unitState) verdict() (string, int) {
	switch {
	case u.load == "not-found" || u.load == "":
		return "not installed", exitNotInstalled
	case u.active == "active" || u.active == "reloading":
		return withStatus("running", u.status), exitOK
	case u.active == "inactive":
		return "stopped", exitStopped
	}
	return withStatus(u.active+" ("+u.sub+")", u.status), exitStopped
}

func withStatus(s, status string) string {
	if status == "" {
		return s
	}
	return s + ": " + esc(status)
}

// cmdDaemon is `ota-agent run`: started by the service manager (not
// interactive) it goes through the kardianos adapter, from a shell straight
// to cmdRun. Both stop on SIGTERM/SIGINT through ctx.
func cmdDaemon(ctx context.Context, e *env) error {
	if service.Interactive() {
		return cmdRun(ctx, e)
	}
	sc, err := serviceConfig(e, e.logLevel)
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
