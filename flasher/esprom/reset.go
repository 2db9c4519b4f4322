package esprom

import (
	"context"
	"fmt"
	"time"

	"ota-agent/platform/serial"
)

// Reset delays from esptool's reset.py.
const (
	resetDelay = 50 * time.Millisecond // DEFAULT_RESET_DELAY
	resetPulse = 100 * time.Millisecond
)

// ClassicReset is esptool's ClassicReset through the usual two-transistor
// circuit (RTS drives EN, DTR drives IO0): hold IO0 low while EN is
// released, so the ROM starts in download mode.
func ClassicReset(ctx context.Context, l serial.Lines) error {
	steps := []func() error{
		func() error { return l.SetDTR(false) }, // IO0 high
		func() error { return l.SetRTS(true) },  // EN low: chip in reset
	}
	if err := run(steps...); err != nil {
		return err
	}
	if err := sleep(ctx, resetPulse); err != nil {
		return err
	}
	if err := run(func() error { return l.SetDTR(true) }, func() error { return l.SetRTS(false) }); err != nil { // IO0 low, EN high
		return err
	}
	if err := sleep(ctx, resetDelay); err != nil {
		return err
	}
	return l.SetDTR(false) // release IO0
}

// TightReset is esptool's UnixTightReset: the same strapping with DTR and
// RTS changed together, for adapters whose lines must move at once.
func TightReset(ctx context.Context, l serial.Lines) error {
	set := func(dtr, rts bool) error {
		return run(func() error { return l.SetDTR(dtr) }, func() error { return l.SetRTS(rts) })
	}
	if err := set(false, false); err != nil {
		return err
	}
	if err := set(true, true); err != nil {
		return err
	}
	if err := set(false, true); err != nil { // IO0 high, EN low
		return err
	}
	if err := sleep(ctx, resetPulse); err != nil {
		return err
	}
	if err := set(true, false); err != nil { // IO0 low, EN high
		return err
	}
	if err := sleep(ctx, resetDelay); err != nil {
		return err
	}
	if err := set(false, false); err != nil {
		return err
	}
	return l.SetDTR(false)
}

func run(steps ...func() error) error {
	for _, s := range steps {
		if err := s(); err != nil {
			return fmt.Errorf("reset into download mode: %w", err)
		}
	}
	return nil
}
