package demo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"ota-agent/flasher/ab/abtest"
	"ota-agent/flasher/esprom/espromtest"
	"ota-agent/flasher/stm32/stm32test"
	"ota-agent/platform/serial/serialtest"
)

// DeviceOptions choose what a simulated board looks like.
type DeviceOptions struct {
	// SlotSize is the size of each A/B slot file; 0 = 8 MiB.
	SlotSize int64
	// Scheme and Bootloader of the A/B rig: "rauc"/"mender", "uboot"/"grub";
	// "" = rauc on U-Boot (a redundant environment pair).
	Scheme, Bootloader string
	// LineRate paces the simulated UARTs at the baud rate the agent sets.
	LineRate bool
	// MCUFaults and ESPFaults inject seeded line faults on the serial links.
	MCUFaults stm32test.Faults
	ESPFaults espromtest.Faults
	// ESPMaxBaud is the highest rate the simulated ESP32 ROM follows (0 = any).
	ESPMaxBaud int
	Log        *slog.Logger // simulators' log; nil = discard
}

// Device is a simulated camera board in a directory: file-backed A/B root
// filesystem slots with a U-Boot environment and a kernel command line, an
// STM32 MCU and an ESP32 Wi-Fi module on ptys, and a file component. Close
// stops the simulators.
type Device struct {
	Dir string
	Rig *abtest.Rig
	MCU *stm32test.Sim
	ESP *espromtest.Sim
	// MCUPort and ESPPort are the symlinks to the pty slaves the agent opens.
	MCUPort, ESPPort string
	// MCUReset is a FIFO: any line written to it resets the simulated MCU into
	// its bootloader, as a board's reset script would (a pty has no DTR/RTS).
	MCUReset string
	// SettingsPath is the file component's target.
	SettingsPath string

	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	errs   []error
}

// StartDevice builds a Device in dir (which must exist) and starts its
// simulators; they run until Close or until ctx ends.
func StartDevice(ctx context.Context, dir string, o DeviceOptions) (*Device, error) {
	if o.SlotSize == 0 {
		o.SlotSize = 8 << 20
	}
	if o.Scheme == "" {
		o.Scheme = "rauc"
	}
	if o.Bootloader == "" {
		o.Bootloader = "uboot"
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	d := &Device{Dir: dir, MCUPort: filepath.Join(dir, "ttyMCU"), ESPPort: filepath.Join(dir, "ttyWIFI"),
		MCUReset: filepath.Join(dir, "mcu-reset"), SettingsPath: filepath.Join(dir, "etc", "remote.json")}
	abDir := filepath.Join(dir, "ab")
	for _, p := range []string{abDir, filepath.Dir(d.SettingsPath)} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return nil, fmt.Errorf("demo device: %w", err)
		}
	}
	rig, err := abtest.NewRig(abDir, abtest.RigConfig{Bootloader: o.Bootloader, Scheme: o.Scheme, SlotSize: o.SlotSize})
	if err != nil {
		return nil, fmt.Errorf("demo device: A/B rig in %s: %w", abDir, err)
	}
	d.Rig = rig
	if err := syscall.Mkfifo(d.MCUReset, 0o600); err != nil {
		return nil, fmt.Errorf("demo device: reset fifo %s: %w", d.MCUReset, err)
	}
	mcu, err := stm32test.New(stm32test.Options{PID: 0x410, LineModel: o.LineRate, Service: 0.05, Faults: o.MCUFaults,
		Report: stm32test.NewLogReporter(o.Log), Log: o.Log.With("device", "mcu")})
	if err != nil {
		return nil, fmt.Errorf("demo device: stm32 simulator: %w", err)
	}
	d.MCU = mcu
	d.ESP = espromtest.New(espromtest.Options{LineRate: o.LineRate, MaxBaud: o.ESPMaxBaud, Faults: o.ESPFaults, Log: o.Log.With("device", "wifi")})
	if err := d.start(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// start opens the ptys and runs the simulators and the reset FIFO reader.
func (d *Device) start(ctx context.Context) error {
	ctx, d.cancel = context.WithCancel(ctx)
	mp, err := serialtest.Open(d.MCUPort)
	if err != nil {
		return fmt.Errorf("demo device: mcu pty: %w", err)
	}
	ep, err := serialtest.Open(d.ESPPort)
	if err != nil {
		mp.Close()
		return fmt.Errorf("demo device: wifi pty: %w", err)
	}
	d.goServe(func() error { defer mp.Close(); return d.MCU.ServePty(ctx, mp) })
	d.goServe(func() error { defer ep.Close(); return d.ESP.Serve(ctx, ep) })
	d.goServe(func() error { return d.readResets(ctx) })
	return nil
}

func (d *Device) goServe(f func() error) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := f(); err != nil && !errors.Is(err, context.Canceled) {
			d.mu.Lock()
			d.errs = append(d.errs, err)
			d.mu.Unlock()
		}
	}()
}

// readResets resets the MCU into its bootloader for each line written to
// the FIFO. It holds a writer open itself so that it never reads EOF.
func (d *Device) readResets(ctx context.Context) error {
	f, err := os.OpenFile(d.MCUReset, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("reset fifo %s: %w", d.MCUReset, err)
	}
	stop := context.AfterFunc(ctx, func() { f.Close() })
	defer stop()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		d.MCU.Reset(true)
	}
	if ctx.Err() != nil {
		return nil
	}
	return sc.Err()
}

// ResetCommand is the enter_command that resets the MCU into its bootloader.
func (d *Device) ResetCommand() []string {
	return []string{"/bin/sh", "-c", "echo boot > " + shellQuote(d.MCUReset)}
}

// Close stops the simulators and returns the errors they ended with.
func (d *Device) Close() error {
	if d.cancel != nil {
		d.cancel()
	}
	d.wg.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	return errors.Join(d.errs...)
}

func shellQuote(s string) string {
	out := "'"
	for _, r := range s {
		if r == '\'' {
			out += `'\''`
			continue
		}
		out += string(r)
	}
	return out + "'"
}
