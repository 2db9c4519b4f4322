package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"ota-agent/flasher/esprom/espromtest"
	"ota-agent/flasher/stm32/stm32test"
	"ota-agent/flasher/ymodem/ymodemtest"
)

// simFlags are the options of `ota-sim simulate`.
type simFlags struct {
	pty       string
	baudModel bool
	seed      uint64
	faults    float64
	latency   time.Duration
	pid       uint
	mode      string
	cli       bool
	fault     faultList
	save      string
	maxBaud   int
}

// cmdSimulate runs one simulated device on a pty with a symlink at --pty
// until SIGINT or SIGTERM: `ota-sim simulate stm32|ymodem|esp --pty PATH`.
func cmdSimulate(ctx context.Context, e *env) error {
	if len(e.args) == 0 {
		return usagef("simulate: give a device: stm32, ymodem or esp")
	}
	dev := e.args[0]
	var f simFlags
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.StringVar(&f.pty, "pty", "", "symlink to create for the simulated device's serial port")
	fs.BoolVar(&f.baudModel, "baud-model", false, "pace bytes at the baud rate the host sets on the pty")
	fs.Uint64Var(&f.seed, "seed", 1, "seed for injected faults")
	fs.Float64Var(&f.faults, "faults", 0, "probability of a line fault per frame (0 = clean line)")
	fs.DurationVar(&f.latency, "latency", 0, "turnaround latency before each reply (USB adapters: 1-16ms)")
	fs.UintVar(&f.pid, "pid", 0x410, "stm32: product ID of the simulated part")
	fs.StringVar(&f.mode, "mode", "strict", "ymodem: strict (AN4657, as the MXChip bootloader) or lenient (like lrzsz rb)")
	fs.BoolVar(&f.cli, "cli", true, "ymodem: MXChip CLI front end (MXCHIP> prompt, FWUPDATE); --cli=false receives YMODEM at once, as for sb")
	fs.Var(&f.fault, "fault", "ymodem: one seeded fault kind[:block[:stall]], e.g. drop-ack:3 or stall:2:5s (repeatable)")
	fs.StringVar(&f.save, "save", "", "ymodem: directory to write each received file to, under its block-0 name")
	fs.IntVar(&f.maxBaud, "max-baud", 0, "esp: highest rate the ROM accepts after CHANGE_BAUDRATE (0 = any)")
	sub := *e
	sub.args = e.args[1:]
	if _, err := sub.flags("simulate "+dev, fs, 0); err != nil {
		return err
	}
	if f.pty == "" {
		return usagef("simulate %s: --pty PATH is required (the symlink the host opens)", dev)
	}
	if f.faults < 0 || f.faults > 1 {
		return usagef("simulate %s: --faults %v: want a probability in [0, 1]", dev, f.faults)
	}
	run, err := simulator(dev, f, e)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "simulated %s on %s (seed %d); stop with Ctrl-C\n", dev, f.pty, f.seed)
	if err := run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("simulate %s on %s: %w", dev, f.pty, err)
	}
	return nil
}

// simulator returns the serve loop of device dev.
func simulator(dev string, f simFlags, e *env) (func(ctx context.Context) error, error) {
	log := e.log.With("component", "simulate/"+dev)
	switch dev {
	case "stm32":
		o := stm32test.Options{PID: uint16(f.pid), LineModel: f.baudModel, Latency: f.latency, Service: 1, Log: log,
			Faults: stm32test.Faults{Seed: f.seed, BitFlip: f.faults / 2, Drop: f.faults / 2}}
		return func(ctx context.Context) error { return stm32test.ServePath(ctx, f.pty, o) }, nil
	case "ymodem":
		mode, err := ymodemtest.ParseMode(f.mode)
		if err != nil {
			return nil, usagef("simulate ymodem: --mode: %v", err)
		}
		o := ymodemtest.Options{Mode: mode, CLI: f.cli, LineRate: f.baudModel, Latency: f.latency, Log: log,
			ErasePerKiB: 200 * time.Microsecond, Faults: append(ymodemFaults(f.seed, f.faults), f.fault...)}
		return func(ctx context.Context) error { return serveYModem(ctx, f, o, e) }, nil
	case "esp":
		o := espromtest.Options{LineRate: f.baudModel, Latency: f.latency, MaxBaud: f.maxBaud, Log: log,
			Faults: espromtest.Faults{Seed: int64(f.seed), CorruptRate: f.faults / 2, DropRate: f.faults / 2}}
		return func(ctx context.Context) error { return espromtest.New(o).ServePath(ctx, f.pty) }, nil
	}
	return nil, usagef("simulate: unknown device %q (want stm32, ymodem or esp)", dev)
}

// ymodemFaults turns a rate into seeded per-block faults over the first
// 1000 blocks: the YMODEM simulator takes a list, not a probability.
func ymodemFaults(seed uint64, rate float64) []ymodemtest.Fault {
	if rate == 0 {
		return nil
	}
	kinds := []ymodemtest.FaultKind{ymodemtest.Corrupt, ymodemtest.Drop, ymodemtest.NAK, ymodemtest.DropACK}
	r := seed | 1
	var fs []ymodemtest.Fault
	for b := 1; b < 1000; b++ {
		r ^= r << 13
		r ^= r >> 7
		r ^= r << 17
		if float64(r%1_000_000)/1e6 < rate {
			fs = append(fs, ymodemtest.Fault{Kind: kinds[r%uint64(len(kinds))], Block: b})
		}
	}
	return fs
}
