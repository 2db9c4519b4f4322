package esprom

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"

	"ota-agent/flasher"
	"ota-agent/platform/serial"
)

// MaxImage bounds an image: the largest ESP32 flash is 16 MiB.
const MaxImage = 16 << 20

// TargetConfig is an `esp` component (SPEC §8).
type TargetConfig struct {
	Port         string   // e.g. /dev/ttyUSB0
	Baud         int      // rate for the transfer; the loader starts at 115200
	Enter        string   // "classic" or "tight" (esptool's DTR/RTS resets), an stm32flash -i sequence, "" or "none"
	EnterCommand []string // a command that resets the chip into download mode
	Chip         string   // expected chip, e.g. "esp32"
	Offset       uint32   // flash address
	Plain        bool     // no compressed writes
	Log          *slog.Logger
}

// Target flashes an Espressif module. It implements flasher.Target.
type Target struct {
	cfg TargetConfig
	log *slog.Logger
}

var _ flasher.Target = (*Target)(nil)

// NewTarget checks cfg and returns a Target.
func NewTarget(cfg TargetConfig) (*Target, error) {
	switch cfg.Enter {
	case "", "none", "classic", "tight":
	default:
		if _, _, err := serial.ParseSequences(cfg.Enter); err != nil {
			return nil, fmt.Errorf("esp enter = %q: want classic, tight, none or an stm32flash -i sequence: %w", cfg.Enter, err)
		}
	}
	if cfg.Port == "" {
		return nil, fmt.Errorf("esp: port is empty")
	}
	if cfg.Baud == 0 {
		cfg.Baud = ROMBaud
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Target{cfg: cfg, log: cfg.Log}, nil
}

// Install implements flasher.Target: it resets the module into download
// mode, flashes img at the configured offset, verifies it by MD5 and runs it.
func (t *Target) Install(ctx context.Context, img flasher.Image, progress flasher.Progress) error {
	if img.Size > MaxImage {
		return fmt.Errorf("esp image of %d bytes is larger than any ESP flash (%d)", img.Size, MaxImage)
	}
	data := make([]byte, img.Size)
	if _, err := img.R.ReadAt(data, 0); err != nil && err != io.EOF {
		return fmt.Errorf("read staged image: %w", err)
	}
	port, err := serial.Open(serial.Config{Path: t.cfg.Port, Baud: ROMBaud, Log: t.log})
	if err != nil {
		return err
	}
	defer port.Close()
	lines, err := serial.OpenLines("", port)
	if err != nil {
		return err
	}
	defer lines.Close()
	f := New(port, Config{
		Chip: t.cfg.Chip, Offset: t.cfg.Offset, Baud: t.cfg.Baud, Plain: t.cfg.Plain,
		Reset: t.reset(lines), Log: t.log,
	})
	return f.Flash(ctx, data, progress)
}

func (t *Target) reset(port serial.Lines) func(context.Context) error {
	switch t.cfg.Enter {
	case "", "none", "classic", "tight":
	default: // an stm32flash -i sequence, checked by NewTarget
		enter, _, _ := serial.ParseSequences(t.cfg.Enter)
		return func(ctx context.Context) error { return enter.Run(ctx, port) }
	}
	switch {
	case len(t.cfg.EnterCommand) > 0:
		argv := t.cfg.EnterCommand
		return func(ctx context.Context) error {
			out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
			if err != nil {
				return fmt.Errorf("enter_command %q: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
			}
			return nil
		}
	case t.cfg.Enter == "classic":
		return func(ctx context.Context) error { return ClassicReset(ctx, port) }
	case t.cfg.Enter == "tight":
		return func(ctx context.Context) error { return TightReset(ctx, port) }
	}
	return nil
}
