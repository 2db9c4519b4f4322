package stm32

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"ota-agent/flasher"
	"ota-agent/platform/serial"
)

// TargetConfig configures a Target (a [[component]] of type stm32).
type TargetConfig struct {
	Port         string   // serial device, e.g. /dev/ttyS1
	Baud         int      // 0 = 115200
	Enter        string   // entry[:exit] in stm32flash -i syntax; "" = none
	EnterCommand []string // run instead of an entry sequence when set
	Address      uint32   // flash address of the image; 0 = start of flash
	Verify       string   // readback (default) | checksum | none
	Log          *slog.Logger

	// Name is the component name used in errors ("mcu" when empty).
	Name string
	// GPIOChip holds the GPIO lines that numbers in Enter name; "" means
	// serial.DefaultGPIOChip.
	GPIOChip string
	// Lines, when set, replaces the port's modem lines and the GPIO chip
	// (tests use serialtest.BootLines, which resets a simulator).
	Lines serial.Lines
	// Timeout is the base reply timeout; 0 = DefaultTimeout.
	Timeout time.Duration
	// Retries per operation; 0 = DefaultRetries.
	Retries int
}

// Target flashes one STM32 through its UART bootloader. It implements
// flasher.Target. Install may be called again after it returns; calls must
// not overlap.
type Target struct {
	cfg    TargetConfig
	entry  serial.Entry
	verify Verify
	log    *slog.Logger
	name   string // "mcu (stm32, ttyS1@115200)" for errors
}

var _ flasher.Target = (*Target)(nil)

// NewTarget checks cfg and returns a Target. Nothing is opened yet.
func NewTarget(cfg TargetConfig) (*Target, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Name == "" {
		cfg.Name = "mcu"
	}
	if cfg.Baud == 0 {
		cfg.Baud = 115200
	}
	t := &Target{cfg: cfg, log: cfg.Log.With("component", "flasher/stm32", "device", cfg.Name)}
	t.name = fmt.Sprintf("%s (stm32, %s@%d)", cfg.Name, filepath.Base(cfg.Port), cfg.Baud)
	if cfg.Port == "" {
		return nil, fmt.Errorf("stm32 %s: port is empty; set port, e.g. /dev/ttyS1", cfg.Name)
	}
	if cfg.Baud < 1200 || cfg.Baud > 4000000 {
		return nil, fmt.Errorf("stm32 %s: baud %d: want 1200..4000000 (most STM32 bootloaders take at most 115200)", cfg.Name, cfg.Baud)
	}
	var err error
	t.entry = serial.Entry{Command: cfg.EnterCommand, GPIOChip: cfg.GPIOChip, Lines: cfg.Lines}
	if t.entry.Enter, t.entry.Exit, err = serial.ParseSequences(cfg.Enter); err != nil {
		return nil, fmt.Errorf("stm32 %s: enter: %w", cfg.Name, err)
	}
	if t.verify, err = ParseVerify(cfg.Verify); err != nil {
		return nil, fmt.Errorf("stm32 %s: %w", cfg.Name, err)
	}
	if cfg.Address != 0 && (cfg.Address < 0x08000000 || cfg.Address%4 != 0) {
		return nil, fmt.Errorf("stm32 %s: address %#x: want a 4-aligned flash address (0x08000000 and up)", cfg.Name, cfg.Address)
	}
	return t, nil
}

// Install implements flasher.Target: open the port 8E1, enter the
// bootloader, flash and verify the image, then leave the bootloader (exit
// sequence, or Go to the image address) and close the port. An error names
// the component, port and step.
func (t *Target) Install(ctx context.Context, img flasher.Image, progress flasher.Progress) error {
	if err := t.install(ctx, img, progress); err != nil {
		return fmt.Errorf("flash %s: %w", t.name, err)
	}
	return nil
}

func (t *Target) install(ctx context.Context, img flasher.Image, progress flasher.Progress) (err error) {
	if img.R == nil || img.Size <= 0 {
		return fmt.Errorf("image %q of %d bytes: nothing to flash", img.Name, img.Size)
	}
	port, err := serial.Open(serial.Config{Path: t.cfg.Port, Baud: t.cfg.Baud, Parity: serial.EvenParity, Log: t.log})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, port.Close()) }()
	lines, closeLines, err := t.entry.OpenLines(port)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeLines()) }()
	c, res, err := t.flash(ctx, port, lines, img, progress)
	if err != nil && ctx.Err() == nil && t.cfg.Baud > FallbackBaud && errors.Is(err, errSync) {
		t.log.Warn("stm32 no sync at this rate; retrying at the fallback rate", "baud", FallbackBaud, "err", err)
		if serr := port.SetBaud(FallbackBaud); serr != nil {
			return errors.Join(err, serr)
		}
		c, res, err = t.flash(ctx, port, lines, img, progress)
		if err != nil {
			return fmt.Errorf("at fallback %d baud: %w", FallbackBaud, err)
		}
	}
	if err != nil {
		return err
	}
	t.log.Info("stm32 image written", "version", img.Version, "bytes", img.Size, "state", "verified-"+string(res.Verified))
	return t.leave(ctx, c, lines, res)
}

// FallbackBaud is the rate Install retries at when the bootloader does not
// answer the sync byte at a higher configured rate: every STM32 bootloader
// follows it, and poor wiring is the most common cause of a failed sync.
const FallbackBaud = 115200

// flash enters the bootloader and runs Flash at the port's current rate.
func (t *Target) flash(ctx context.Context, port *serial.File, lines serial.Lines, img flasher.Image, progress flasher.Progress) (*Conn, Result, error) {
	if err := t.entry.EnterBootloader(ctx, lines); err != nil {
		return nil, Result{}, err
	}
	c := NewConn(port, port.Baud(), t.cfg.Timeout, t.log)
	opts := Options{Address: t.cfg.Address, Verify: t.verify, Retries: t.cfg.Retries, Log: t.log}
	res, err := Flash(ctx, c, img.R, img.Size, opts, progress)
	return c, res, err
}

// leave runs the exit sequence (a reset with BOOT0 low) or, without one,
// Go to the image: the bootloader jumps to its vector table.
func (t *Target) leave(ctx context.Context, c *Conn, lines serial.Lines, res Result) error {
	if !t.entry.Exit.Empty() {
		if err := t.entry.Exit.Run(ctx, lines); err != nil {
			return fmt.Errorf("image verified, but the exit sequence failed, the MCU is still in its bootloader: %w", err)
		}
		return nil
	}
	addr := t.cfg.Address
	if addr == 0 {
		addr = res.Device.FlashStart
	}
	if err := c.Go(ctx, addr); err != nil {
		return fmt.Errorf("image verified, but it was not started (reset the MCU): %w", err)
	}
	return nil
}
