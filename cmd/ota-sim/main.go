// Command ota-sim is the bench side of ota-agent: simulated devices on ptys
// (`ota-sim simulate stm32|ymodem|esp --pty PATH`) and the whole product on
// simulated hardware (`ota-sim demo`, which runs the real ota-agent binary
// as a subprocess). It links the fake servers and simulators that the device
// binary must not (cmd/ota-agent/deps_test.go guards that), so it is never
// installed on a device.
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
	"syscall"

	"ota-agent/platform/printable"
)

// Exit statuses, as ota-agent's (SPEC §7).
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// usageError is a bad command line: exit 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return &usageError{fmt.Errorf(format, args...)} }

// env is what every command gets.
type env struct {
	log    *slog.Logger
	stdout io.Writer
	stderr io.Writer
	args   []string // after the command name
}

const usage = `usage: ota-sim [--log-level debug|info|warn|error] COMMAND

commands:
  simulate stm32|ymodem|esp --pty PATH [--baud-model] [--seed N] [--faults P]
                            run a simulated device on a pty until Ctrl-C; ymodem also takes
                            --mode strict|lenient, --cli=false (no MXCHIP> menu, for sb),
                            --fault KIND[:BLOCK[:STALL]] (repeatable), --save DIR
  demo [--keep] [--dir DIR] [--api akaso|mxchip|upgradelink|aliyun] [--agent PATH]
                            the whole product on simulated hardware; runs the ota-agent
                            binary given by --agent, else the one next to ota-sim, else
                            the one on $PATH
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses the global flags, runs one command and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("ota-sim", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return exitOK
		}
		return report(stderr, usagef("%v (see ota-sim help)", err))
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		return report(stderr, usagef("--log-level %q: want debug, info, warn or error", *level))
	}
	e.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv}))
	if fs.NArg() == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd, ok := commands[fs.Arg(0)]
	if !ok {
		return report(stderr, usagef("unknown command %q (see ota-sim help)", fs.Arg(0)))
	}
	e.args = fs.Args()[1:]
	return report(stderr, cmd(ctx, e))
}

// commands maps each command name to its function.
var commands = map[string]func(ctx context.Context, e *env) error{
	"simulate": cmdSimulate,
	"demo":     cmdDemo,
	"help":     func(_ context.Context, e *env) error { fmt.Fprint(e.stdout, usage); return nil },
}

// report prints err as one escaped line (printable) and returns its exit
// status.
func report(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "ota-sim: "+printable.String(err.Error()))
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFailed
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
