// Package stm32test is a simulated STM32 system-memory bootloader (ST
// AN3155) that plays the device side over a pty or any byte stream: the
// same PIDs and flash geometry as flasher/stm32's device table (which
// stm32flash 0.7 shares), erase and programming service times, a line-rate
// model (8E1, 11 bits per byte, at the baud rate the host set on the pty),
// readout protection, and seeded fault injection. It does not import
// testing: ota-agent simulate and demo use it too.
package stm32test

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"ota-agent/flasher/stm32"
)

// Reporter receives protocol violations by the host (a malformed frame, an
// unaligned write). Tests pass their *testing.T, so a bad frame fails the
// test loudly instead of hanging it; simulate and demo pass LogReporter.
// Violations that follow an injected fault are expected and only logged.
type Reporter interface {
	Errorf(format string, args ...any)
}

// LogReporter reports violations as warnings on a logger.
type LogReporter struct{ Log *slog.Logger }

// Errorf implements Reporter.
func (r LogReporter) Errorf(format string, args ...any) {
	if r.Log != nil {
		r.Log.Warn("stm32 simulator: host protocol violation: " + fmt.Sprintf(format, args...))
	}
}

// Options configure a Sim. The zero value is an STM32F103 (PID 0x410) in
// its bootloader, with no timing model and no faults.
type Options struct {
	PID uint16 // product ID from flasher/stm32's device table; 0 = 0x410
	// Baud is the line rate for the timing model when it is not read from
	// a pty (0 = no line model). Serve on a pty reads the host's rate
	// instead when LineModel is set.
	Baud      int
	LineModel bool          // pace bytes at the line rate (11 bits per byte, 8E1)
	Latency   time.Duration // turnaround latency before each reply (USB adapters: 1-16 ms)
	// Service scales the device's erase and programming times from the
	// device table: 0 = instant, 1 = datasheet typical.
	Service float64
	// MaxBaud is the fastest rate the part's bootloader follows (0: any).
	// Bytes sent faster are noise to it, as on a real part whose auto-baud
	// cannot lock; only ServePty knows the host's rate.
	MaxBaud int
	// NoChecksum hides Get Checksum (0xA1) on parts that have it.
	NoChecksum bool
	// InApp starts the simulated MCU running its application (deaf to the
	// bootloader protocol) until it is reset into the bootloader.
	InApp  bool
	Faults Faults
	Report Reporter     // nil = LogReporter{Log}
	Log    *slog.Logger // nil = discard
}

// Faults inject line and device errors. Probabilities are per frame the
// host sends (or per reply, for ReplyFlip and Stall) and drawn from a PRNG
// seeded with Seed, so a run is repeatable.
type Faults struct {
	Seed      uint64
	BitFlip   float64 // flip one bit of one received byte
	Drop      float64 // lose one received byte
	NACK      float64 // refuse a Read, Write or Erase that was fine
	ReplyFlip float64 // flip one bit of one byte sent to the host
	// FlashFlip programs one bit wrong in a Write Memory and still ACKs
	// it, as a worn flash cell would: only verification can catch it.
	FlashFlip float64
	Stall     float64       // go silent for StallFor before a reply
	StallFor  time.Duration // 0 = 1.5 s
	// ResetAt resets the MCU (back into its bootloader, unsynced) when it
	// receives the data of the ResetAt-th Write Memory; 0 = never.
	ResetAt int
	Max     int // at most this many faults in all; 0 = unlimited
}

// Stats count what the simulator saw and spent.
type Stats struct {
	BytesIn, BytesOut int64
	Writes, Reads     int           // Write/Read Memory commands served
	Faults            int           // faults injected
	Busy              time.Duration // erase and programming time spent
	Violations        int
}

// Sim is one simulated MCU: flash, RAM, option state and the bootloader's
// protocol state. Its methods are safe for concurrent use; one Serve runs
// at a time.
type Sim struct {
	opts Options
	dev  stm32.Device
	rep  Reporter
	log  *slog.Logger

	mu        sync.Mutex
	flash     []byte
	ram       []byte
	protected bool
	synced    bool
	inApp     bool
	resetGen  int       // bumped by Reset, so a serve loop drops its frame
	resetAt   time.Time // when Reset last ran
	cmds      []string
	stats     Stats
	rng       *rand.Rand
	faulted   bool // a fault was injected since the last reset
}

// New returns a simulated MCU with erased flash.
func New(opts Options) (*Sim, error) {
	if opts.PID == 0 {
		opts.PID = 0x410
	}
	dev, err := stm32.LookupDevice(opts.PID)
	if err != nil {
		return nil, fmt.Errorf("stm32 simulator: %w", err)
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Report == nil {
		opts.Report = LogReporter{opts.Log}
	}
	if opts.Faults.StallFor == 0 {
		opts.Faults.StallFor = 1500 * time.Millisecond
	}
	s := &Sim{opts: opts, dev: dev, rep: opts.Report, log: opts.Log.With("component", "stm32test"),
		flash: make([]byte, dev.FlashEnd-dev.FlashStart), ram: make([]byte, dev.RAMEnd-0x20000000),
		inApp: opts.InApp, rng: rand.New(rand.NewPCG(opts.Faults.Seed, 0x5354_4d33_32))}
	for i := range s.flash {
		s.flash[i] = 0xFF
	}
	return s, nil
}

// Device returns the simulated part's table entry.
func (s *Sim) Device() stm32.Device { return s.dev }

// Flash returns a copy of the whole flash.
func (s *Sim) Flash() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.flash...)
}

// SetFlash overwrites flash from its start (e.g. an old firmware).
func (s *Sim) SetFlash(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	copy(s.flash, b)
}

// SetReadProtected turns readout protection on or off. While it is on,
// Read, Write and Go are refused with NACK.
func (s *Sim) SetReadProtected(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.protected = on
}

// ReadProtected reports whether readout protection is on.
func (s *Sim) ReadProtected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.protected
}

// Reset resets the MCU: into the bootloader (waiting for 0x7F) when boot
// is true, else into the application, which ignores the line. It fits
// serialtest.BootLines.OnReset.
func (s *Sim) Reset(boot bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.synced, s.inApp = false, !boot
	s.resetGen++
	s.resetAt = time.Now()
	s.faulted = false
	s.cmds = append(s.cmds, map[bool]string{true: "reset-boot", false: "reset-app"}[boot])
}

// Running reports whether the application runs (after Go to flash or a
// reset with the boot pin low).
func (s *Sim) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inApp
}

// Commands returns the commands served so far, e.g. "sync", "get",
// "erase 0..19", "write 0x8000000+256", "read 0x8000000+256", "go 0x8000000".
func (s *Sim) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.cmds...)
}

// Stats returns the counters so far.
func (s *Sim) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func (s *Sim) record(format string, args ...any) {
	s.mu.Lock()
	s.cmds = append(s.cmds, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

// violation reports a host error, unless a fault explains it.
func (s *Sim) violation(format string, args ...any) {
	s.mu.Lock()
	s.stats.Violations++
	faulted := s.faulted
	s.mu.Unlock()
	if faulted {
		s.log.Debug("stm32 simulator: bad frame after an injected fault: " + fmt.Sprintf(format, args...))
		return
	}
	s.rep.Errorf("stm32 simulator (%s): "+format, append([]any{s.dev.String()}, args...)...)
}

// chance draws one fault of probability p, within Faults.Max.
func (s *Sim) chance(p float64) bool {
	if p <= 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.Faults.Max > 0 && s.stats.Faults >= s.opts.Faults.Max {
		return false
	}
	if s.rng.Float64() >= p {
		return false
	}
	s.stats.Faults++
	s.faulted = true
	return true
}

// intn draws from the fault PRNG.
func (s *Sim) intn(n int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.IntN(n)
}
