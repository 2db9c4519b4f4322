package serial_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"ota-agent/platform/serial"
	"ota-agent/platform/serial/serialtest"
)

func TestParseSequences(t *testing.T) {
	tests := []struct {
		name, in    string
		enter, exit string // toggles recorded by BootLines after Run
		gpio        bool
		wantErr     string
	}{
		{name: "stm32flash example", in: "-rts&-dtr,dtr:rts&-dtr,dtr", enter: "-rts -dtr dtr", exit: "rts -dtr dtr"},
		{name: "entry only", in: "dtr", enter: "dtr"},
		{name: "exit only", in: ":-dtr", exit: "-dtr"},
		{name: "empty", in: ""},
		{name: "delays only", in: ",,", enter: ""},
		{name: "gpio numbers", in: "-17&18,17", enter: "-17 18 17", gpio: true},
		{name: "brk and ignored -brk", in: "brk&-brk", enter: "brk"},
		{name: "upper case", in: "RTS&-DTR", enter: "rts -dtr"},
		{name: "two colons", in: "rts:dtr:rts", wantErr: "at most one"},
		{name: "unknown name", in: "cts", wantErr: `signal "cts"`},
		{name: "bare minus", in: "-&rts", wantErr: "'-' without"},
		{name: "bad exit", in: "rts:xyz", wantErr: "exit sequence"},
		{name: "negative gpio", in: "--4", wantErr: "signal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enter, exit, err := serial.ParseSequences(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSequences(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSequences(%q): %v", tt.in, err)
			}
			if enter.UsesGPIO() != tt.gpio {
				t.Errorf("UsesGPIO() = %v, want %v", enter.UsesGPIO(), tt.gpio)
			}
			for _, c := range []struct {
				seq  serial.Sequence
				want string
			}{{enter, tt.enter}, {exit, tt.exit}} {
				var l serialtest.BootLines
				if err := c.seq.Run(context.Background(), &l); err != nil {
					t.Fatalf("Run(%q): %v", c.seq, err)
				}
				if got := l.Toggles(); got != c.want {
					t.Errorf("Run(%q) toggles = %q, want %q", c.seq, got, c.want)
				}
			}
		})
	}
}

func TestSequenceResetsIntoBootloader(t *testing.T) {
	enter, exit, err := serial.ParseSequences("-rts&-dtr,dtr:rts&-dtr,dtr")
	if err != nil {
		t.Fatal(err)
	}
	var resets []bool
	l := &serialtest.BootLines{OnReset: func(boot bool) { resets = append(resets, boot) }}
	if err := enter.Run(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	if err := exit.Run(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	if len(resets) != 2 || !resets[0] || resets[1] {
		t.Errorf("resets (bootloader?) = %v, want [true false]", resets)
	}
}

func TestSequenceRunCancelled(t *testing.T) {
	seq, err := serial.ParseSequence("rts,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,dtr")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var l serialtest.BootLines
	done := make(chan error, 1)
	go func() { done <- seq.Run(ctx, &l) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after cancel = %v, want context.Canceled", err)
	}
	if l.Level("dtr") {
		t.Error("dtr was set after cancel")
	}
}

func TestSequenceOnPtyHasNoModemLines(t *testing.T) {
	p, err := serialtest.Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	port, err := serial.Open(serial.Config{Path: p.Path, Baud: 115200})
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	lines, err := serial.OpenLines("", port)
	if err != nil {
		t.Fatal(err)
	}
	defer lines.Close()
	enter, _, _ := serial.ParseSequences("-rts&-dtr,dtr")
	err = enter.Run(context.Background(), lines)
	if !errors.Is(err, serial.ErrNoModemLines) {
		t.Fatalf("Run on a pty = %v, want ErrNoModemLines", err)
	}
	for _, want := range []string{"-rts", "gpiochip0:17", "enter_command"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if err := lines.Break(); err != nil {
		t.Errorf("Break on a pty: %v", err)
	}
}

func TestOpenLinesGPIOErrors(t *testing.T) {
	if _, err := serial.OpenLines("bad chip/x", nil); err == nil {
		t.Error("OpenLines with a path-like chip name: no error")
	}
	l, err := serial.OpenLines("gpiochip-none-such:17", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = l.SetGPIO(17, true)
	if err == nil || !strings.Contains(err.Error(), "gpiochip-none-such:17") {
		t.Errorf("SetGPIO on a missing chip = %v, want an error naming gpiochip-none-such:17", err)
	}
	if err := l.SetDTR(true); !errors.Is(err, serial.ErrNoModemLines) {
		t.Errorf("SetDTR without a port = %v, want ErrNoModemLines", err)
	}
}

func TestRunCommand(t *testing.T) {
	ctx := context.Background()
	if err := serial.RunCommand(ctx, []string{"true"}); err != nil {
		t.Errorf("RunCommand(true): %v", err)
	}
	err := serial.RunCommand(ctx, []string{"sh", "-c", "echo wiring missing >&2; exit 3"})
	if err == nil || !strings.Contains(err.Error(), "wiring missing") || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("RunCommand(failing) = %v, want exit status 3 and the output", err)
	}
	if err := serial.RunCommand(ctx, nil); err == nil {
		t.Error("RunCommand(nil): no error")
	}
	if err := serial.RunCommand(ctx, []string{"/nonexistent/enter"}); err == nil {
		t.Error("RunCommand(missing program): no error")
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := serial.RunCommand(cctx, []string{"sleep", "30"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("RunCommand(sleep 30) under a 50ms deadline = %v, want DeadlineExceeded", err)
	}
}

func FuzzParseSequences(f *testing.F) {
	for _, s := range []string{"-rts&-dtr,dtr:rts&-dtr,dtr", "", ":", "17,-17", "brk&-brk", ",,,,", "-", "rts:dtr:x", "RTS&-dtr"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enter, exit, err := serial.ParseSequences(s)
		if err != nil {
			return
		}
		for _, seq := range []serial.Sequence{enter, exit} {
			// Re-parsing the text must give the same toggles.
			again, err := serial.ParseSequence(seq.String())
			if err != nil {
				t.Fatalf("re-parse %q: %v", seq, err)
			}
			if again.Empty() != seq.Empty() || again.UsesGPIO() != seq.UsesGPIO() {
				t.Fatalf("%q: re-parse differs", seq)
			}
			if strings.Contains(seq.String(), ",") {
				continue // delays: too slow to run in a fuzzer
			}
			var a, b serialtest.BootLines
			if err := seq.Run(context.Background(), &a); err != nil {
				t.Fatalf("Run(%q): %v", seq, err)
			}
			again.Run(context.Background(), &b)
			if a.Toggles() != b.Toggles() {
				t.Fatalf("%q: toggles %q vs %q", seq, a.Toggles(), b.Toggles())
			}
		}
	})
}
