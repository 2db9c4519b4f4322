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
	"time"

	"ota-agent/flasher/ab/abtest"
	"ota-agent/flasher/esprom/espromtest"
	"ota-agent/flasher/stm32/stm32test"
	"ota-agent/flasher/ymodem/ymodemtest"
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
	// MCUFaults, WiFiFaults and ESPFaults inject seeded line faults on the
	// serial links.
	MCUFaults  stm32test.Faults
	WiFiFaults []ymodemtest.Fault
	ESPFaults  espromtest.Faults
	// ESPMaxBaud is the highest rate the simulated ESP32 ROM follows (0 = any).
	ESPMaxBaud int
	Log        *slog.Logger // simulators' log; nil = discard
}

// Device is a simulated camera board in a directory: file-backed A/B root
// filesystem slots with a U-Boot environment and a kernel command line, an
// STM32 MCU, an MXChip Wi-Fi module and an ESP32 radio on ptys, and a file
// component. Close stops the simulators.
type Device struct {
	Dir string
	Rig *abtest.Rig
	MCU *stm32test.Sim
	// WiFi is the MXChip Wi-Fi module: a YMODEM receiver (AN4657-strict)
	// behind the MXCHIP> bootloader menu. Its Files are the images it
	// accepted, last one current.
	WiFi *ymodemtest.Device
	ESP  *espromtest.Sim // the radio coprocessor's ROM loader
	// MCUPort, WiFiPort and ESPPort are the symlinks to the pty slaves the
	// agent opens.
	MCUPort, WiFiPort, ESPPort string
	// MCUReset and WiFiReset are FIFOs: any line written to one resets that
	// simulated part into its bootloader, as a board's reset script would
	// (a pty has no DTR/RTS).
	MCUReset, WiFiReset string
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
	d := &Device{Dir: dir, MCUPort: filepath.Join(dir, "ttyMCU"), WiFiPort: filepath.Join(dir, "ttyWIFI"), ESPPort: filepath.Join(dir, "ttyRADIO"),
		MCUReset: filepath.Join(dir, "mcu-reset"), WiFiReset: filepath.Join(dir, "wifi-reset"), SettingsPath: filepath.Join(dir, "etc", "remote.json")}
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
	for _, p := range []string{d.MCUReset, d.MCUReset + ".done", d.WiFiReset, d.WiFiReset + ".done"} {
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			return nil, fmt.Errorf("demo device: reset fifo %s: %w", p, err)
		}
	}
	mcu, err := stm32test.New(stm32test.Options{PID: 0x410, LineModel: o.LineRate, Service: 0.05, Faults: o.MCUFaults,
		Report: stm32test.NewLogReporter(o.Log), Log: o.Log.With("device", "mcu")})
	if err != nil {
		return nil, fmt.Errorf("demo device: stm32 simulator: %w", err)
	}
	d.MCU = mcu
	d.ESP = espromtest.New(espromtest.Options{LineRate: o.LineRate, MaxBaud: o.ESPMaxBaud, Faults: o.ESPFaults, Log: o.Log.With("device", "radio")})
	if err := d.start(ctx, o); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// start opens the ptys and runs the simulators and the reset FIFO readers.
func (d *Device) start(ctx context.Context, o DeviceOptions) error {
	ctx, d.cancel = context.WithCancel(ctx)
	var ptys []*serialtest.Pty
	for _, link := range []string{d.MCUPort, d.WiFiPort, d.ESPPort} {
		p, err := serialtest.Open(link)
		if err != nil {
			for _, q := range ptys {
				q.Close()
			}
			return fmt.Errorf("demo device: pty %s: %w", link, err)
		}
		ptys = append(ptys, p)
	}
	mp, wp, ep := ptys[0], ptys[1], ptys[2]
	d.WiFi = ymodemtest.New(wifiOptions(o, wp))
	resets := make(chan chan struct{})
	d.goServe(func() error { defer mp.Close(); return d.MCU.ServePty(ctx, mp) })
	d.goServe(func() error { defer wp.Close(); return d.serveWiFi(ctx, wp, resets) })
	d.goServe(func() error { defer ep.Close(); return d.ESP.Serve(ctx, ep) })
	d.goServe(func() error { return readResets(ctx, d.MCUReset, func() { d.MCU.Reset(true) }) })
	d.goServe(func() error {
		return readResets(ctx, d.WiFiReset, func() {
			done := make(chan struct{})
			select {
			case resets <- done:
				select {
				case <-done:
				case <-ctx.Done():
				}
			case <-ctx.Done():
			}
		})
	})
	return nil
}

// wifiOptions is the MXChip module: the AN4657-strict receiver behind the
// MXCHIP> menu, with an erase time sized by the image when the line is
// paced (a real module erases about 1 ms per KiB before the block-0 ACK).
func wifiOptions(o DeviceOptions, p *serialtest.Pty) ymodemtest.Options {
	wo := ymodemtest.Options{Mode: ymodemtest.Strict, CLI: true, Capacity: 2 << 20, Faults: o.WiFiFaults,
		Log: o.Log.With("device", "wifi")}
	if o.LineRate {
		wo.Baud, wo.EraseBase, wo.ErasePerKiB = p.Baud, 20*time.Millisecond, time.Millisecond
	}
	return wo
}

// serveWiFi runs the module's bootloader session after session: a line on
// the reset FIFO ends the current one (a booted application, a transfer cut
// by a power loss) and starts a fresh bootloader with its banner and
// MXCHIP> prompt.
func (d *Device) serveWiFi(ctx context.Context, p *serialtest.Pty, resets <-chan chan struct{}) error {
	var reset chan struct{}
	for {
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- d.WiFi.Serve(sctx, p.Master) }()
		if reset != nil {
			close(reset) // the fresh bootloader owns the line now
		}
		select {
		case err := <-done:
			cancel()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("wifi module on %s: %w", d.WiFiPort, err)
		case <-ctx.Done():
			cancel()
			<-done
			return ctx.Err()
		case reset = <-resets:
			cancel()
			<-done
		}
	}
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

// readResets calls reset for each line written to the FIFO at path, then
// writes a line to the FIFO path+".done", which the enter_command waits
// for: a board's reset script returns once the part is in its bootloader.
// It holds a writer open itself so that it never reads EOF.
func readResets(ctx context.Context, path string, reset func()) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("reset fifo %s: %w", path, err)
	}
	stop := context.AfterFunc(ctx, func() { f.Close() })
	defer stop()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		reset()
		ack(ctx, path+".done")
	}
	if ctx.Err() != nil {
		return nil
	}
	return sc.Err()
}

// ack writes a line to the FIFO at path once its reader (the enter_command)
// has it open, for up to 10 s: a reader that was killed is not waited for.
func ack(ctx context.Context, path string) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	give := time.NewTimer(10 * time.Second)
	defer give.Stop()
	for {
		f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			f.WriteString("ok\n")
			f.Close()
			return
		}
		select {
		case <-tick.C:
		case <-give.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// ResetCommand is the enter_command that resets the MCU into its bootloader.
func (d *Device) ResetCommand() []string { return resetCommand(d.MCUReset) }

// WiFiResetCommand is the enter_command that resets the Wi-Fi module into
// its bootloader.
func (d *Device) WiFiResetCommand() []string { return resetCommand(d.WiFiReset) }

// resetCommand writes a line to the reset FIFO and waits until the part is
// in its bootloader.
func resetCommand(fifo string) []string {
	q := shellQuote(fifo)
	return []string{"/bin/sh", "-c", "echo boot > " + q + " && head -n 1 < " + q + ".done > /dev/null"}
}

// WiFiImage is the last image the Wi-Fi module accepted, nil if none.
func (d *Device) WiFiImage() []byte {
	fs := d.WiFi.Files()
	if len(fs) == 0 {
		return nil
	}
	return fs[len(fs)-1].Data
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
