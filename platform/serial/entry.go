package serial

import (
	"context"
	"fmt"
	"time"
)

// Entry is how a device on a UART is put into its bootloader and taken out
// again (SPEC §6): an entry command, or enter/exit line sequences in
// stm32flash's -i syntax, or nothing (the device already waits in its
// bootloader). The STM32 and YMODEM targets share it.
type Entry struct {
	Command     []string // enter_command: run instead of the enter sequence
	Enter, Exit Sequence
	GPIOChip    string // gpiochip device for GPIO steps; "" = the default
	Lines       Lines  // lines to use as they are (tests); nil = open them
}

// OpenLines returns the lines the sequences drive on port and their
// closer: Lines when given, none when no sequence needs them.
func (e Entry) OpenLines(port *File) (Lines, func() error, error) {
	if e.Lines != nil {
		return e.Lines, func() error { return nil }, nil
	}
	if e.Enter.Empty() && e.Exit.Empty() {
		return nil, func() error { return nil }, nil
	}
	h, err := OpenLines(e.GPIOChip, port)
	if err != nil {
		return nil, nil, err
	}
	return h, h.Close, nil
}

// EnterBootloader runs the entry command, else the enter sequence; with
// neither, the device must already be in its bootloader.
func (e Entry) EnterBootloader(ctx context.Context, lines Lines) error {
	if len(e.Command) > 0 {
		return RunCommand(ctx, e.Command)
	}
	if e.Enter.Empty() {
		return nil
	}
	if err := e.Enter.Run(ctx, lines); err != nil {
		return fmt.Errorf("enter bootloader: %w", err)
	}
	return nil
}

// Sleep pauses for d or until ctx is done, and says which.
func Sleep(ctx context.Context, d time.Duration) error { return wait(ctx, d) }
