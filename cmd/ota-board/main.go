// Command ota-board runs the scenarios of the QEMU board (README "The board
// in QEMU"): the arm64 ota-agent under systemd in a real Linux, booted by a
// real U-Boot from the disk `make board` built, updating itself from a fake
// AKASO server on the host and flashing a simulated STM32 behind the guest's
// 16550 UART. It drives the board only through what a real device has: the
// OTA server, the serial console and the MCU on its UART.
//
//	ota-board test [-dir bin/board] [-scenario update] [-keep] [-seed N] [-cuts 5]
//	ota-board connect 127.0.0.1:PORT   (QEMU's guestfwd command: stdio <-> TCP)
//
// It is a test rig, never shipped to a device (ota-agent does not import it).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ota-board:", err)
		os.Exit(1)
	}
}

// run dispatches the subcommand.
func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: ota-board test [-dir DIR] [-scenario NAME] | connect HOST:PORT")
	}
	switch args[0] {
	case "connect":
		if len(args) != 2 {
			return errors.New("connect: give HOST:PORT")
		}
		return connect(args[1], os.Stdin, os.Stdout)
	case "test":
		return cmdTest(ctx, args[1:])
	}
	return fmt.Errorf("unknown command %q (want test or connect)", args[0])
}

// connect copies stdin to a TCP connection to addr and the answers to
// stdout: QEMU's guestfwd "cmd:" form spawns it once per guest connection.
func connect(addr string, in io.Reader, out io.Writer) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return fmt.Errorf("connect to %s: %w (is ota-board test still running?)", addr, err)
	}
	defer c.Close()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(c, in)
		_ = c.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	_, err = io.Copy(out, c)
	return err
}

// cmdTest runs the chosen scenarios against the board in -dir.
func cmdTest(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	dir := fs.String("dir", "bin/board", "directory `make board` built the board in")
	only := fs.String("scenario", "all", "scenario to run: "+scenarioNames()+" or all")
	keep := fs.Bool("keep", false, "keep each scenario's work directory (disk, console log)")
	seed := fs.Int64("seed", time.Now().UnixNano()%1e6, "seed of the power-cut campaign (printed, to rerun it)")
	cuts := fs.Int("cuts", 5, "power cuts in the campaign (phases in a seeded order)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := openBoard(*dir)
	if err != nil {
		return err
	}
	b.seed, b.cuts = *seed, *cuts
	l, err := b.lock()
	if err != nil {
		return err
	}
	defer l.Close()
	return runScenarios(ctx, b, *only, *keep)
}
