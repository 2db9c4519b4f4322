// Package ymodemtest is a simulated YMODEM receiver: the device side of an
// STM32 IAP (AN4657) or MXChip Wi-Fi module bootloader, or a lenient
// receiver like lrzsz rb. It runs in-process on any Conn, or on a pty for
// real hosts (sb, the agent, ota-agent simulate ymodem). It does not import
// testing.
package ymodemtest

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"ota-agent/platform/serial/serialtest"
)

// Mode is how strictly the receiver follows AN4657.
type Mode int

const (
	// Lenient behaves like lrzsz rb: ACKs a duplicate block, NAKs a bad one,
	// sends 'C' for the next file right after EOT, ignores stray bytes.
	Lenient Mode = iota
	// Strict behaves like the STM32 IAP ymodem.c (AN4657) that the MXChip
	// bootloader carries: NAKs a duplicate block, answers a bad packet or a
	// packet timeout with 'C', aborts with CA CA after 5 errors or on a
	// packet that starts with 'a' or 'A', sends 'C' every second while idle.
	Strict
)

// String returns "lenient" or "strict".
func (m Mode) String() string {
	if m == Strict {
		return "strict"
	}
	return "lenient"
}

// Reporter receives protocol violations by the host (a malformed frame on a
// clean line, a block out of order, an 'a' typed into a transfer). A test
// passes its *testing.T; Errorf rather than Fatalf because the simulator
// runs in its own goroutine, where FailNow is not allowed.
type Reporter interface {
	Errorf(format string, args ...any)
}

// LogReporter reports violations as warnings on log, for ota-agent simulate.
type LogReporter struct{ Log *slog.Logger }

// Errorf implements Reporter.
func (r LogReporter) Errorf(format string, args ...any) {
	r.Log.Warn("host protocol violation", "err", fmt.Sprintf(format, args...))
}

// Options configure a Device. The zero value is a lenient, instant receiver
// without a CLI.
type Options struct {
	Mode Mode
	CLI  bool // MXChip CLI front end: prompt, FWUPDATE..., result strings
	// Capacity is the flash area in bytes; a larger image is refused with
	// CA CA ("Image size is higher than memory!"). 0 = unlimited.
	Capacity int64
	// EraseBase and ErasePerKiB size the erase before the block-0 ACK.
	EraseBase   time.Duration
	ErasePerKiB time.Duration
	// Timeout is the 'C' interval while idle and the time a packet may take
	// to arrive (AN4657: 1 s). 0 = 1 s.
	Timeout time.Duration
	// Baud gives the line rate for the line model (Pty.Baud reads back what
	// the host set); nil = no model, bytes cross instantly.
	Baud func() int
	// LineRate makes Serve and ServePath model the line at the pty's rate.
	LineRate bool
	Latency  time.Duration // turnaround latency before each reply
	Faults   []Fault       // each fires once
	Report   Reporter      // nil = Options.Log warnings
	Log      *slog.Logger  // nil = discard
}

// File is what the device received in one transfer.
type File struct {
	Name    string
	Size    int64 // from block 0; -1 if it gave none
	Data    []byte
	Command string // the CLI command that started it, if any
}

// Device is a simulated receiver. Its methods are safe for concurrent use;
// Serve runs once at a time.
type Device struct {
	opts  Options
	log   *slog.Logger
	mu    sync.Mutex
	files []File
	cmds  []string
	fired []bool
}

// New returns a device with opts.
func New(opts Options) *Device {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Report == nil {
		opts.Report = LogReporter{opts.Log}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	return &Device{opts: opts, log: opts.Log.With("component", "ymodemtest", "mode", opts.Mode.String()), fired: make([]bool, len(opts.Faults))}
}

// Files returns the files received completely so far, in order.
func (d *Device) Files() []File {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]File(nil), d.files...)
}

// Commands returns the CLI commands typed so far (upper-cased).
func (d *Device) Commands() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.cmds...)
}

func (d *Device) record(f File) {
	d.mu.Lock()
	d.files = append(d.files, f)
	d.mu.Unlock()
	d.log.Info("file received", "name", f.Name, "bytes", len(f.Data))
}

// Serve plays the device on c until ctx is done (it then returns ctx's
// error) or the line fails. Without a CLI it runs one YMODEM session after
// another.
func (d *Device) Serve(ctx context.Context, c Conn) error {
	// A cancel moves the read deadline to now; line.fill checks ctx after
	// setting its own deadline, so no cancel is lost.
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Now()) })
	defer stop()
	ln := newLine(c, d.opts.Baud, d.opts.Latency)
	if d.opts.CLI {
		return d.cli(ctx, ln)
	}
	for {
		_, err := d.receive(ctx, ln, d.opts.Mode, "")
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			d.log.Info("session ended", "err", err)
		}
	}
}

// Serve runs a Device with opts on the pty's master until ctx is done.
func Serve(ctx context.Context, p *serialtest.Pty, opts Options) error {
	if opts.LineRate && opts.Baud == nil {
		opts.Baud = p.Baud
	}
	return New(opts).Serve(ctx, p.Master)
}

// ServePath creates a pty, links linkPath to its slave (as socat's link=
// does), and serves a device with opts on it until ctx is done; the link is
// removed on return. This is ota-agent simulate ymodem --pty PATH.
func ServePath(ctx context.Context, linkPath string, opts Options, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p, err := serialtest.Open(linkPath)
	if err != nil {
		return fmt.Errorf("simulate ymodem: %w", err)
	}
	defer p.Close()
	if opts.Log == nil {
		opts.Log = log
	}
	log.Info("simulated ymodem device ready", "port", linkPath, "pty", p.Path, "mode", opts.Mode.String(), "cli", opts.CLI)
	return Serve(ctx, p, opts)
}
