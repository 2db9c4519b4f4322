package ymodem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"ota-agent/platform/serial"
)

// Strings of the MXChip Wi-Fi module bootloader (its menu.c, MiCO lineage;
// reference/serial-protocols.md §2.4).
const (
	MXChipPrompt  = "MXCHIP> "
	MXChipWaiting = "Waiting for the file to be sent"
)

// Results the MXChip bootloader prints after a transfer, as errors.
var (
	ErrNoPrompt      = errors.New("no MXCHIP> prompt")
	ErrNoWaiting     = errors.New("module did not start waiting for the file")
	ErrImageTooLarge = errors.New(`module says "Image size is higher than memory!"`)
	ErrVerifyFailed  = errors.New(`module says "Verification failed!"`)
	ErrAborted       = errors.New(`module says "Aborted."`)
	ErrReceiveFailed = errors.New(`module says "Receive failed!"`)
	ErrNoResult      = errors.New("module printed no result line")
)

// mxchipResults are the lines the bootloader prints after a transfer.
var mxchipResults = []struct {
	line string
	err  error
}{
	{"Successfully!", nil},
	{"Image size is higher than memory!", ErrImageTooLarge},
	{"Verification failed!", ErrVerifyFailed},
	{"Aborted.", ErrAborted},
	{"Receive failed!", ErrReceiveFailed},
}

// MXChip drives the bootloader's text menu on a port it does not own. It
// reads one byte at a time so that nothing past the text it waits for
// (such as the receiver's first 'C') is taken from the port.
type MXChip struct {
	port serial.Port
	log  *slog.Logger
	seen []byte // text read since the last match, for error messages
}

// NewMXChip returns a CLI driver on port; log nil = discard.
func NewMXChip(port serial.Port, log *slog.Logger) *MXChip {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &MXChip{port: port, log: log.With("component", "flasher/ymodem", "port", port.String())}
}

// Prompt sends CR until the MXCHIP> prompt appears (5 tries, 1 s each).
func (m *MXChip) Prompt(ctx context.Context) error {
	for try := 1; try <= 5; try++ {
		if err := m.write("\r"); err != nil {
			return err
		}
		_, err := m.expect(ctx, time.Second, MXChipPrompt)
		if err == nil {
			return nil
		}
		if !errors.Is(err, errTimeout) {
			return err
		}
	}
	return fmt.Errorf("%w after 5 CRs, last text %q; check the bootloader entry (boot pin, enter/enter_command) and the baud rate", ErrNoPrompt, m.tail())
}

// Start types command (e.g. FWUPDATE) and waits until the module waits for
// the file. Nothing more is typed after that: an 'a' or 'A' would abort.
func (m *MXChip) Start(ctx context.Context, command string) error {
	if err := m.write(command + "\r"); err != nil {
		return err
	}
	if _, err := m.expect(ctx, 5*time.Second, MXChipWaiting); err != nil {
		return fmt.Errorf("%s on %s: %w (got %q): %w", command, m.port, ErrNoWaiting, m.tail(), err)
	}
	if _, err := m.expect(ctx, time.Second, "\n"); err != nil {
		return fmt.Errorf("%s on %s: rest of the waiting line: %w", command, m.port, err)
	}
	m.log.Info("module waits for the file", "state", "waiting", "command", command)
	return nil
}

// Result reads the module's verdict after a transfer and returns nil for
// "Successfully!", else the matching sentinel.
func (m *MXChip) Result(ctx context.Context, timeout time.Duration) error {
	keys := make([]string, len(mxchipResults))
	for i, r := range mxchipResults {
		keys[i] = r.line
	}
	i, err := m.expect(ctx, timeout, keys...)
	if errors.Is(err, errTimeout) {
		return fmt.Errorf("%w within %v on %s (got %q)", ErrNoResult, timeout, m.port, m.tail())
	}
	if err != nil {
		return err
	}
	return mxchipResults[i].err
}

// Run waits for the prompt and types command (BOOT or REBOOT), which
// leaves the bootloader; nothing is expected back.
func (m *MXChip) Run(ctx context.Context, command string) error {
	if err := m.Prompt(ctx); err != nil {
		return err
	}
	m.log.Info("leaving the bootloader", "state", "boot", "command", command)
	return m.write(command + "\r")
}

func (m *MXChip) write(s string) error {
	if _, err := m.port.Write([]byte(s)); err != nil {
		return fmt.Errorf("write %q to %s: %w", strings.TrimSpace(s), m.port, err)
	}
	return nil
}

// expect reads until one of needles appears and returns its index, or
// errTimeout after timeout.
func (m *MXChip) expect(ctx context.Context, timeout time.Duration, needles ...string) (int, error) {
	stop := context.AfterFunc(ctx, func() { m.port.SetReadDeadline(time.Now()) })
	defer stop()
	defer m.port.SetReadDeadline(time.Time{})
	deadline := time.Now().Add(timeout)
	m.seen = m.seen[:0]
	var b [1]byte
	for {
		for i, n := range needles {
			if bytes.HasSuffix(m.seen, []byte(n)) {
				return i, nil
			}
		}
		m.port.SetReadDeadline(deadline)
		if ctx.Err() != nil {
			return 0, context.Cause(ctx)
		}
		n, err := m.port.Read(b[:])
		switch {
		case n == 1:
			if len(m.seen) > 4096 {
				m.seen = append(m.seen[:0], m.seen[2048:]...)
			}
			m.seen = append(m.seen, b[0])
		case ctx.Err() != nil:
			return 0, context.Cause(ctx)
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			return 0, errTimeout
		default:
			return 0, fmt.Errorf("read %s: %w", m.port, err)
		}
	}
}

// tail is the end of the text seen, for messages.
func (m *MXChip) tail() string {
	s := m.seen
	if len(s) > 80 {
		s = s[len(s)-80:]
	}
	return string(s)
}
