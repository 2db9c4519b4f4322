package stm32test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"ota-agent/platform/serial/serialtest"
)

// Serve runs a new simulated MCU on the master of p until ctx is done. The
// host opens p.Path (or its link). With opts.LineModel the line rate is the
// one the host set on the pty, read back with TCGETS2.
func Serve(ctx context.Context, p *serialtest.Pty, opts Options) error {
	s, err := New(opts)
	if err != nil {
		return err
	}
	return s.ServePty(ctx, p)
}

// ServePath makes a pty with a symlink at linkPath (removed on return) and
// serves a new simulated MCU on it until ctx is done: what `ota-agent
// simulate stm32 --pty PATH` runs.
func ServePath(ctx context.Context, linkPath string, opts Options) error {
	p, err := serialtest.Open(linkPath)
	if err != nil {
		return err
	}
	defer p.Close()
	if opts.Log != nil {
		opts.Log.Info("stm32 simulator ready", "port", linkPath, "device", p.Path)
	}
	return Serve(ctx, p, opts)
}

// ServePty serves s on the master of p until ctx is done, with the baud
// rate read back from the pty for the line model.
func (s *Sim) ServePty(ctx context.Context, p *serialtest.Pty) error {
	return s.serve(ctx, p.Master, p.Baud)
}

// ServeConn serves s on conn until ctx is done or conn fails (io.EOF ends
// it quietly). The line model, if on, runs at Options.Baud.
func (s *Sim) ServeConn(ctx context.Context, conn Conn) error {
	return s.serve(ctx, conn, func() int { return s.opts.Baud })
}

func (s *Sim) serve(ctx context.Context, conn Conn, baud func() int) error {
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	l := &line{ctx: ctx, conn: conn, s: s, baud: baud}
	for {
		s.mu.Lock()
		l.gen = s.resetGen
		s.mu.Unlock()
		err := s.step(l)
		switch {
		case err == nil, errors.Is(err, errReset):
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, io.EOF):
			return nil
		default:
			return err
		}
	}
}

// step serves one frame: a byte while the application runs or before
// sync, else one command.
func (s *Sim) step(l *line) error {
	s.mu.Lock()
	app, synced := s.inApp, s.synced
	s.mu.Unlock()
	if app {
		_, err := l.next(1) // the application ignores the bootloader protocol
		return err
	}
	if s.opts.MaxBaud > 0 && l.baud != nil && l.baud() > s.opts.MaxBaud {
		_, err := l.next(1) // too fast for auto-baud: noise
		return err
	}
	if !synced {
		b, err := l.next(1)
		if err != nil || b[0] != 0x7F {
			return err // before auto-baud, anything else is noise
		}
		s.mu.Lock()
		s.synced = true
		s.mu.Unlock()
		s.record("sync")
		return l.send(ack)
	}
	c, err := l.next(2)
	if err != nil {
		return err
	}
	if c[1] != ^c[0] {
		if c[0] != 0x7F || c[1] != 0x7F { // 7F 7F is how hosts probe an already-synced part
			s.violation("command %#02x with complement %#02x, want %#02x", c[0], c[1], ^c[0])
		}
		return l.send(nack)
	}
	return s.dispatch(l, c[0])
}

const (
	ack  = 0x79
	nack = 0x1F
)

func (s *Sim) dispatch(l *line, code byte) error {
	handlers := map[byte]func(*line) error{
		0x00: s.get, 0x01: s.getVersion, 0x02: s.getID, 0x11: s.readMemory, 0x21: s.goCmd,
		0x31: s.writeMemory, 0x43: s.erase, 0x44: s.extendedErase, 0xA1: s.getChecksum,
		0x63: s.writeProtect, 0x73: s.writeUnprotect, 0x82: s.readoutProtect, 0x92: s.readoutUnprotect,
	}
	h, ok := handlers[code]
	if !ok || !s.lists(code) {
		s.violation("command %#02x is not in this bootloader's Get list", code)
		return l.send(nack)
	}
	return h(l)
}

// commandList is what Get lists: erase or extended erase per part, Get
// Checksum on parts that have it.
func (s *Sim) commandList() []byte {
	erase := byte(0x43)
	if s.dev.Extended {
		erase = 0x44
	}
	cmds := []byte{0x00, 0x01, 0x02, 0x11, 0x21, 0x31, erase, 0x63, 0x73, 0x82, 0x92}
	if s.dev.HasChecksum && !s.opts.NoChecksum {
		cmds = append(cmds, 0xA1)
	}
	return cmds
}

func (s *Sim) lists(code byte) bool {
	for _, c := range s.commandList() {
		if c == code {
			return true
		}
	}
	return false
}

// NewLogReporter returns a LogReporter on log (nil: discard).
func NewLogReporter(log *slog.Logger) LogReporter { return LogReporter{Log: log} }

// String describes the simulated part, e.g. for logs.
func (s *Sim) String() string { return fmt.Sprintf("simulated %s", s.dev) }
