package ymodem

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"ota-agent/flasher"
	"ota-agent/platform/serial"
)

// CLI front ends a Target can drive before YMODEM.
const (
	CLINone   = "none"
	CLIMXChip = "mxchip"
)

// TargetConfig configures a ymodem component ([component] type = "ymodem").
type TargetConfig struct {
	Port         string   // e.g. /dev/ttyS2
	Baud         int      // 0 = 115200
	Enter        string   // entry[:exit] in stm32flash -i syntax; "" = none
	EnterCommand []string // run before opening the CLI; takes precedence over Enter
	CLI          string   // "" or "none": YMODEM at once; "mxchip": MXCHIP> menu first
	// Command is the mxchip update command: FWUPDATE (default),
	// DRIVERUPDATE, BOOTUPDATE or PARUPDATE -id N.
	Command string
	// Finish is what the mxchip CLI runs after a good transfer: BOOT
	// (default), REBOOT, or "none" to stay in the bootloader.
	Finish   string
	GPIOChip string       // chip for GPIO numbers in Enter; "" = gpiochip0
	Lines    serial.Lines // replaces the port's lines and GPIO (tests); nil = serial.OpenLines
	Options  Options      // YMODEM timeouts and retries; zero = defaults
	Log      *slog.Logger // nil = discard
}

// Target installs images over YMODEM, optionally behind the MXChip CLI. It
// implements flasher.Target. Install opens and closes the port itself; one
// Install at a time.
type Target struct {
	cfg   TargetConfig
	entry serial.Entry
	log   *slog.Logger
}

var _ flasher.Target = (*Target)(nil)

var commandRE = regexp.MustCompile(`^(FWUPDATE|DRIVERUPDATE|BOOTUPDATE|PARUPDATE -ID [0-9]+)$`)

// NewTarget checks cfg and returns the target.
func NewTarget(cfg TargetConfig) (*Target, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Port == "" {
		return nil, errors.New("ymodem target: port is empty; set port to the module's UART, e.g. /dev/ttyS2")
	}
	if cfg.Baud == 0 {
		cfg.Baud = 115200
	}
	if cfg.Baud < 0 {
		return nil, fmt.Errorf("ymodem target %s: baud %d: want a positive rate such as 115200", cfg.Port, cfg.Baud)
	}
	if err := cfg.checkCLI(); err != nil {
		return nil, fmt.Errorf("ymodem target %s: %w", cfg.Port, err)
	}
	t := &Target{cfg: cfg, log: cfg.Log.With("component", "flasher/ymodem", "port", cfg.Port)}
	var err error
	t.entry = serial.Entry{Command: cfg.EnterCommand, GPIOChip: cfg.GPIOChip, Lines: cfg.Lines}
	if t.entry.Enter, t.entry.Exit, err = serial.ParseSequences(cfg.Enter); err != nil {
		return nil, fmt.Errorf("ymodem target %s: enter: %w", cfg.Port, err)
	}
	return t, nil
}

// checkCLI normalises and checks CLI, Command and Finish.
func (c *TargetConfig) checkCLI() error {
	c.CLI = strings.ToLower(strings.TrimSpace(c.CLI))
	switch c.CLI {
	case "", CLINone:
		c.CLI = CLINone
		return nil
	case CLIMXChip:
	default:
		return fmt.Errorf("cli %q: want none or mxchip", c.CLI)
	}
	c.Command = strings.Join(strings.Fields(strings.ToUpper(c.Command)), " ")
	if c.Command == "" {
		c.Command = "FWUPDATE"
	}
	if !commandRE.MatchString(c.Command) {
		return fmt.Errorf("command %q: want FWUPDATE, DRIVERUPDATE, BOOTUPDATE or PARUPDATE -id N", c.Command)
	}
	c.Command = strings.Replace(c.Command, "-ID", "-id", 1)
	c.Finish = strings.ToUpper(strings.TrimSpace(c.Finish))
	switch c.Finish {
	case "":
		c.Finish = "BOOT"
	case "BOOT", "REBOOT", "NONE":
	default:
		return fmt.Errorf("finish %q: want BOOT, REBOOT or none", c.Finish)
	}
	return nil
}

// Install implements flasher.Target: open the port, enter the bootloader,
// start the update in the CLI, send img by YMODEM, read the module's
// verdict and boot the new image.
func (t *Target) Install(ctx context.Context, img flasher.Image, progress flasher.Progress) error {
	port, err := serial.Open(serial.Config{Path: t.cfg.Port, Baud: t.cfg.Baud, Log: t.cfg.Log})
	if err != nil {
		return fmt.Errorf("ymodem install %s: %w", img.Version, err)
	}
	defer port.Close()
	if err := t.install(ctx, port, img, progress); err != nil {
		return fmt.Errorf("ymodem install %s (%s, %d bytes) on %s: %w", img.Version, img.Name, img.Size, port, err)
	}
	return nil
}

func (t *Target) install(ctx context.Context, port *serial.File, img flasher.Image, progress flasher.Progress) error {
	lines, closeLines, err := t.entry.OpenLines(port)
	if err != nil {
		return err
	}
	defer closeLines()
	if err := t.entry.EnterBootloader(ctx, lines); err != nil {
		return err
	}
	f := File{Name: img.Name, Size: img.Size, R: img.R}
	if t.cfg.CLI == CLINone {
		if err := Send(ctx, port, f, t.cfg.Options, progress); err != nil {
			return err
		}
		return t.leave(ctx, lines)
	}
	return t.mxchip(ctx, port, f, progress)
}

// mxchip runs the update through the MXCHIP> menu.
func (t *Target) mxchip(ctx context.Context, port *serial.File, f File, progress flasher.Progress) error {
	cli := NewMXChip(port, t.log)
	if err := cli.Prompt(ctx); err != nil {
		return err
	}
	if err := cli.Start(ctx, t.cfg.Command); err != nil {
		return err
	}
	opts := t.cfg.Options
	if opts.Log == nil {
		opts.Log = t.cfg.Log
	}
	sendErr := Send(ctx, port, f, opts, progress)
	resErr := cli.Result(ctx, resultTimeout(f.Size))
	switch {
	case sendErr != nil && errors.Is(resErr, ErrNoResult):
		return sendErr
	case sendErr != nil:
		return fmt.Errorf("%w; %w", resErr, sendErr)
	case resErr != nil:
		return fmt.Errorf("after a complete transfer: %w", resErr)
	}
	t.log.Info("module accepted the image", "state", "flashed", "bytes", f.Size)
	if t.cfg.Finish == "NONE" {
		return nil
	}
	if err := cli.Run(ctx, t.cfg.Finish); err != nil {
		return fmt.Errorf("image accepted, but %s failed: %w", t.cfg.Finish, err)
	}
	return nil
}

// resultTimeout allows the module to check what it wrote before it prints
// its verdict: 10 s plus 10 s per MiB.
func resultTimeout(size int64) time.Duration {
	return 10*time.Second + time.Duration(float64(10*time.Second)*float64(size)/(1<<20))
}

// leave runs the exit sequence after a transfer without a CLI.
func (t *Target) leave(ctx context.Context, lines serial.Lines) error {
	if t.entry.Exit.Empty() {
		return nil
	}
	if err := t.entry.Exit.Run(ctx, lines); err != nil {
		return fmt.Errorf("image sent, but the exit sequence failed; the module is still in its bootloader: %w", err)
	}
	return nil
}
