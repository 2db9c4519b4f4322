// Command ota-agent keeps the firmware of one device current from one OTA
// API: see README.md and `ota-agent help`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"ota-agent/platform/memtrim"
	"ota-agent/platform/printable"
	"strings"
	"syscall"

	"ota-agent/agent/config"
)

// Stamped by the Makefile: -X main.version= -X main.commit= -X main.date=.
var (
	version = "dev"
	commit  = "unknown"
	date    = "unknown"
)

// Exit statuses (SPEC §7).
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// usageError is a bad command line or configuration: exit 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return &usageError{fmt.Errorf(format, args...)} }

// env is what every command gets.
type env struct {
	cfgPath   string
	logFormat string
	logLevel  string
	log       *slog.Logger
	stdout    io.Writer
	stderr    io.Writer
	args      []string // after the command name
}

const usage = `usage: ota-agent [-c FILE] [--log-format text|json] [--log-level debug|info|warn|error] COMMAND

commands:
  run                       the daemon: poll, apply policy, install, report
  check [--json]            ask the API once; print offers and decisions; change nothing
  update [--yes] [--force] [--component N]
                            check, then install what policy allows
  install [--component N] [--md5 H] [--sha256 H] [--version V] PATH|URL
                            install an image or package by hand
  status [--json]           components, versions, phases, held and failed versions
  approve [COMPONENT|--all] approve held prompt offers
  commit                    finish a pending A/B install
  rollback                  abandon a pending A/B install
  service install|uninstall|start|stop|status
                            manage the systemd service
  config check              validate the configuration and print it resolved (secrets masked)
  version                   version, commit, build date, Go version

simulated devices and the demo are in a second binary, ota-sim (see ota-sim help)
`

func main() {
	// Only the code the agent runs should count in its RSS, not 64 KiB
	// around every page that package initialisation touched; best effort
	// (without /proc nothing changes).
	if memtrim.Sparse() == nil {
		_, _ = memtrim.Trim()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	stopProfile()
	os.Exit(code)
}

// stopProfile ends the CPU profile of a profiling build (profile.go).
var stopProfile = func() {}

// run parses the global flags, runs one command and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("ota-agent", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&e.cfgPath, "c", config.DefaultPath, "configuration file")
	fs.StringVar(&e.logFormat, "log-format", "text", "text or json")
	fs.StringVar(&e.logLevel, "log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return exitOK
		}
		return report(stderr, usagef("%v (see ota-agent help)", err))
	}
	if fs.NArg() > 0 && fs.Arg(0) != "run" && !isSet(fs, "log-level") {
		e.logLevel = "warn" // one-shot commands print their result; the log shows only trouble
	}
	log, err := newLogger(stderr, e.logFormat, e.logLevel)
	if err != nil {
		return report(stderr, err)
	}
	e.log = log
	if fs.NArg() == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	name := fs.Arg(0)
	e.args = fs.Args()[1:]
	cmd, ok := commands[name]
	if !ok {
		return report(stderr, usagef("unknown command %q (see ota-agent help)", name))
	}
	return report(stderr, cmd(ctx, e))
}

// oneLine escapes each line of s (printable.String) and joins them with "; ".
func oneLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = esc(l)
	}
	return strings.Join(lines, "; ")
}

// esc makes text that came from a server, a package or a device safe to
// print: control characters and invalid UTF-8 escaped, e.g. \x1b.
func esc(s string) string { return printable.String(s) }

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// commands maps each command name to its function.
var commands map[string]func(ctx context.Context, e *env) error

func init() {
	commands = map[string]func(ctx context.Context, e *env) error{
		"run":      cmdDaemon,
		"check":    cmdCheck,
		"update":   cmdUpdate,
		"install":  cmdInstall,
		"status":   cmdStatus,
		"approve":  cmdApprove,
		"commit":   cmdCommit,
		"rollback": cmdRollback,
		"service":  cmdService,
		"config":   cmdConfig,
		"version":  cmdVersion,
		"help":     func(_ context.Context, e *env) error { fmt.Fprint(e.stdout, usage); return nil },
	}
}

// report prints err as one line and returns its exit status. Errors may
// quote a server or a package: each line is escaped (printable) and the
// lines are joined with "; ".
func report(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	var es interface{ ExitCode() int }
	if errors.As(err, &es) && err.Error() == "" {
		return es.ExitCode() // a result with its own exit status (service status)
	}
	fmt.Fprintln(stderr, "ota-agent: "+oneLine(err.Error()))
	var ue *usageError
	var ce *config.Error
	if errors.As(err, &ue) || errors.As(err, &ce) {
		return exitUsage
	}
	return exitFailed
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		opts.ReplaceAttr = escapeJSONAttr
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("--log-format %q: want text or json", format)
}

// escapeJSONAttr escapes string and error values that are not printable
// (printable.String) before the JSON handler writes them: it escapes C0
// controls itself but writes DEL and C1 controls (U+009B is CSI to some
// terminals) raw. A decoded value then reads as the text log shows it.
func escapeJSONAttr(_ []string, a slog.Attr) slog.Attr {
	switch v := a.Value; {
	case v.Kind() == slog.KindString && !printable.Safe(v.String()):
		a.Value = slog.StringValue(printable.String(v.String()))
	case v.Kind() == slog.KindAny:
		if err, ok := v.Any().(error); ok && !printable.Safe(err.Error()) {
			a.Value = slog.StringValue(printable.String(err.Error()))
		}
	}
	return a
}

// loadConfig reads -c; its errors are *config.Error (exit 2).
func (e *env) loadConfig() (*config.Config, error) {
	return config.Load(e.cfgPath)
}

// flags parses a command's own flags; positional arguments are returned.
func (e *env) flags(name string, fs *flag.FlagSet, maxArgs int) ([]string, error) {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(e.args); err != nil {
		return nil, usagef("%s: %v", name, err)
	}
	if fs.NArg() > maxArgs {
		return nil, usagef("%s: unexpected argument %q", name, fs.Arg(maxArgs))
	}
	return fs.Args(), nil
}
