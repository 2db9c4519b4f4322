// Package systemd talks to the service manager: sd_notify messages (READY=1,
// STATUS=, WATCHDOG=1, STOPPING=1) through github.com/coreos/go-systemd and
// the unit file the agent installs itself with.
//
// Outside systemd (no NOTIFY_SOCKET) every call is a no-op, so the same
// daemon runs from a shell.
package systemd

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// StatusInterval is the least time between two throttled STATUS= messages
// (progress); phase changes are sent at once.
const StatusInterval = time.Second

// Notifier sends sd_notify messages. It is safe for concurrent use.
type Notifier struct {
	log *slog.Logger
	now func() time.Time

	mu         sync.Mutex
	lastStatus string
	lastSent   time.Time
	alive      time.Time
}

// New returns a notifier; log may be nil.
func New(log *slog.Logger) *Notifier {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Notifier{log: log.With("component", "platform/systemd"), now: time.Now}
}

func (n *Notifier) send(state string) {
	sent, err := daemon.SdNotify(false, state)
	if err != nil {
		n.log.Warn("sd_notify failed", "err", err, "state", state)
		return
	}
	if sent {
		n.log.Debug("sd_notify", "state", state)
	}
}

// Ready tells systemd the daemon is up (Type=notify units wait for it).
func (n *Notifier) Ready() { n.send(daemon.SdNotifyReady) }

// Stopping tells systemd the daemon is shutting down.
func (n *Notifier) Stopping() { n.send(daemon.SdNotifyStopping) }

// Status sends STATUS=s at once (phase changes). It also counts as a sign of
// life for Watchdog.
func (n *Notifier) Status(s string) {
	n.mu.Lock()
	n.lastStatus, n.lastSent, n.alive = s, n.now(), n.now()
	n.mu.Unlock()
	n.send("STATUS=" + s)
}

// Progress sends STATUS=s at most once per StatusInterval (download and flash
// progress); it always counts as a sign of life.
func (n *Notifier) Progress(s string) {
	n.mu.Lock()
	now := n.now()
	n.alive = now
	if s == n.lastStatus || now.Sub(n.lastSent) < StatusInterval {
		n.mu.Unlock()
		return
	}
	n.lastStatus, n.lastSent = s, now
	n.mu.Unlock()
	n.send("STATUS=" + s)
}

// Alive records that the main loop is making progress.
func (n *Notifier) Alive() {
	n.mu.Lock()
	n.alive = n.now()
	n.mu.Unlock()
}

// WatchdogInterval returns how often to call Watchdog: half of WATCHDOG_USEC,
// or 0 when systemd does not watch this process.
func (n *Notifier) WatchdogInterval() time.Duration {
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		n.log.Warn("watchdog settings unreadable; not pinging", "err", err)
		return 0
	}
	return d / 2
}

// Watchdog sends WATCHDOG=1 when the main loop showed a sign of life (Status,
// Progress or Alive) within the last 2×interval; a loop stuck for longer is
// left for systemd to restart. It reports whether it pinged.
func (n *Notifier) Watchdog(interval time.Duration) bool {
	n.mu.Lock()
	stale := n.now().Sub(n.alive) > 2*interval
	n.mu.Unlock()
	if stale {
		n.log.Warn("main loop silent; withholding watchdog ping", "wait", 2*interval)
		return false
	}
	n.send(daemon.SdNotifyWatchdog)
	return true
}

// UnitTemplate returns the systemd unit `ota-agent service install` writes,
// in kardianos/service's template syntax (its SystemdScript option), for the
// configuration file config. Type=notify makes systemd wait for READY=1;
// WatchdogSec restarts an agent whose main loop hangs; Restart=on-failure
// brings back one that crashed, but not one an operator stopped.
// ConditionPathExists leaves a unit enabled by the Debian package inactive
// until the operator writes the configuration (systemctl start then works
// at once). The daemon logs at info: state transitions and the next check
// time reach the journal.
//
// RequiresMountsFor orders the agent after the mount holding stateDir: on a
// board whose state directory is its own partition, an agent started before
// it would read the root slot's empty directory and lose a pending install.
func UnitTemplate(config, stateDir string) string {
	return `[Unit]
Description={{Description}}
Documentation=man:ota-agent(8)
ConditionFileIsExecutable={{Path|cmdEscape}}
ConditionPathExists=` + escapePath(config) + `
RequiresMountsFor=` + escapePath(stateDir) + `
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
NotifyAccess=main
ExecStart={{Path|cmdEscape}}{{range Arguments}} {{.|cmd}}{{end}}
Restart=on-failure
RestartSec=` + RestartSec + `
WatchdogSec=` + WatchdogSec + `
TimeoutStopSec=` + TimeoutStopSec + `

[Install]
WantedBy=multi-user.target
`
}

// Unit renders UnitTemplate(config, stateDir) for exe and args the way
// kardianos/service does (its engine accepts a subset of text/template:
// keys, pipes to cmd and cmdEscape, range), e.g. the unit the Debian package
// ships. description is the unit's Description=.
func Unit(description, exe string, args []string, config, stateDir string) (string, error) {
	funcs := template.FuncMap{
		"Description": func() string { return description },
		"Path":        func() string { return exe },
		"Arguments":   func() []string { return args },
		"cmd":         func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` },
		"cmdEscape":   escapePath,
	}
	tpl, err := template.New("unit").Funcs(funcs).Parse(UnitTemplate(config, stateDir))
	if err != nil {
		return "", fmt.Errorf("unit template for %s: %w", config, err)
	}
	var b strings.Builder
	if err := tpl.Execute(&b, nil); err != nil {
		return "", fmt.Errorf("render unit for %s: %w", config, err)
	}
	return b.String(), nil
}

// escapePath escapes spaces in a path as systemd reads them (\x20), as
// kardianos/service's cmdEscape does.
func escapePath(s string) string { return strings.ReplaceAll(s, " ", `\x20`) }

// RestartSec is the unit's RestartSec=: a crashed agent comes back after it.
const RestartSec = "30"

// TimeoutStopSec is the unit's TimeoutStopSec=; the daemon finishes its
// step and exits well within it (cmd/ota-agent stopLimit).
const TimeoutStopSec = "30"

// WatchdogSec is the unit's WatchdogSec=. Long steps (a 256 MiB slot write,
// a flash erase) report progress well within it.
const WatchdogSec = "300"

// ServiceName is the unit's name without ".service".
const ServiceName = "ota-agent"

// Describe returns a one-line description of d for status lines.
func Describe(done, total int64) string {
	if total <= 0 {
		return fmt.Sprintf("%d bytes", done)
	}
	return fmt.Sprintf("%d/%d bytes (%d%%)", done, total, done*100/total)
}
