package serial

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// SequenceDelay is the pause a ',' inserts between two signal toggles, as in
// stm32flash(1) -i.
const SequenceDelay = 100 * time.Millisecond

// Sequence is a bootloader entry or exit sequence in stm32flash's -i syntax:
// signals separated by '&' (no delay) or ',' (100 ms delay). A signal is rts,
// dtr, brk or a GPIO line number; a leading '-' drives it low. "-brk" does
// nothing, as in stm32flash. An empty signal (",,,") only waits. E.g.
// "-rts&-dtr,dtr" sets RTS low and DTR low, waits 100 ms, then sets DTR high.
// The zero Sequence does nothing.
type Sequence struct {
	steps []step
	text  string
}

// step is one toggle (or a pure delay when sig is empty).
type step struct {
	sig   string // "rts", "dtr", "brk", a GPIO number, or "" for a pause
	gpio  int    // the line offset when sig is a number
	high  bool
	delay time.Duration // wait after the toggle
}

// GPIOSetter is implemented by Lines that can also drive GPIO lines by
// number (the numbers in a Sequence).
type GPIOSetter interface {
	SetGPIO(offset int, high bool) error
}

// Breaker is implemented by Lines that can send a break (brk in a
// Sequence). *File implements it.
type Breaker interface {
	Break() error
}

// ParseSequences parses stm32flash's -i string "entry[:exit]", e.g.
// "-rts&-dtr,dtr:rts&-dtr,dtr". Either part may be empty.
func ParseSequences(s string) (enter, exit Sequence, err error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) > 2 {
		return Sequence{}, Sequence{}, fmt.Errorf("sequence %q: %d ':' separators, want at most one (entry:exit)", s, len(parts)-1)
	}
	if enter, err = ParseSequence(parts[0]); err != nil {
		return Sequence{}, Sequence{}, fmt.Errorf("entry %w", err)
	}
	if len(parts) == 2 {
		if exit, err = ParseSequence(parts[1]); err != nil {
			return Sequence{}, Sequence{}, fmt.Errorf("exit %w", err)
		}
	}
	return enter, exit, nil
}

// ParseSequence parses one sequence (no ':').
func ParseSequence(s string) (Sequence, error) {
	seq := Sequence{text: s}
	tok := ""
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '&' && s[i] != ',' {
			tok += string(s[i])
			continue
		}
		st, err := parseSignal(tok)
		if err != nil {
			return Sequence{}, fmt.Errorf("sequence %q: %w", s, err)
		}
		if i < len(s) && s[i] == ',' {
			st.delay = SequenceDelay
		}
		if st.sig != "" || st.delay > 0 {
			seq.steps = append(seq.steps, st)
		}
		tok = ""
	}
	return seq, nil
}

func parseSignal(tok string) (step, error) {
	tok = strings.TrimSpace(tok)
	st := step{high: true}
	name := strings.TrimPrefix(tok, "-")
	if name != tok {
		st.high = false
	}
	switch lower := strings.ToLower(name); lower {
	case "":
		if !st.high {
			return st, fmt.Errorf("signal %q: '-' without a signal name", tok)
		}
		return st, nil
	case "rts", "dtr":
		st.sig = lower
	case "brk":
		if st.high { // stm32flash ignores "-brk"
			st.sig = lower
		}
	default:
		n, err := strconv.Atoi(name)
		if err != nil || n < 0 || n > 65535 {
			return st, fmt.Errorf("signal %q: want rts, dtr, brk or a GPIO line number", tok)
		}
		st.sig, st.gpio = name, n
	}
	return st, nil
}

// String returns the sequence as it was written.
func (s Sequence) String() string { return s.text }

// Empty reports whether the sequence does nothing.
func (s Sequence) Empty() bool { return len(s.steps) == 0 }

// UsesGPIO reports whether the sequence drives GPIO lines by number.
func (s Sequence) UsesGPIO() bool {
	for _, st := range s.steps {
		if st.sig != "" && st.sig != "rts" && st.sig != "dtr" && st.sig != "brk" {
			return true
		}
	}
	return false
}

// Run drives the lines step by step with the sequence's delays. It stops at
// the first error or when ctx is done. A sequence that uses brk needs l to
// implement Breaker, GPIO numbers need GPIOSetter (OpenLines gives both).
func (s Sequence) Run(ctx context.Context, l Lines) error {
	for i, st := range s.steps {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("sequence %q step %d: %w", s.text, i+1, err)
		}
		if err := st.apply(l); err != nil {
			return fmt.Errorf("sequence %q step %d (%s): %w", s.text, i+1, st, err)
		}
		if err := wait(ctx, st.delay); err != nil {
			return fmt.Errorf("sequence %q step %d: %w", s.text, i+1, err)
		}
	}
	return nil
}

// String is the step in stm32flash notation ("-rts").
func (st step) String() string {
	if st.high {
		return st.sig
	}
	return "-" + st.sig
}

func (st step) apply(l Lines) error {
	switch st.sig {
	case "":
		return nil
	case "rts":
		return l.SetRTS(st.high)
	case "dtr":
		return l.SetDTR(st.high)
	case "brk":
		b, ok := l.(Breaker)
		if !ok {
			return fmt.Errorf("lines %T cannot send a break", l)
		}
		return b.Break()
	}
	g, ok := l.(GPIOSetter)
	if !ok {
		return fmt.Errorf("lines %T have no GPIO lines; open them with serial.OpenLines", l)
	}
	return g.SetGPIO(st.gpio, st.high)
}

// wait pauses for d or until ctx is done.
func wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// RunCommand runs enter_command (argv[0] with its arguments, no shell) and
// waits for it; ctx kills it. A non-zero exit is an error that carries the
// tail of its output.
func RunCommand(ctx context.Context, argv []string) error {
	if len(argv) == 0 || argv[0] == "" {
		return errors.New("enter_command: empty command; give the program and its arguments as a list")
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err == nil {
		return nil
	}
	tail := strings.TrimSpace(string(out))
	if len(tail) > 200 {
		tail = "…" + tail[len(tail)-200:]
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	if tail == "" {
		return fmt.Errorf("enter_command %q: %w", strings.Join(argv, " "), err)
	}
	return fmt.Errorf("enter_command %q: %w; output: %s", strings.Join(argv, " "), err, tail)
}
