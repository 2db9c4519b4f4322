package ymodem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"ota-agent/flasher"
	"ota-agent/platform/serial"
)

// Defaults of Options.
const (
	DefaultRetries      = 10
	DefaultTimeout      = 10 * time.Second // lrzsz waits 10 s for a reply
	DefaultStartTimeout = 60 * time.Second // rb asks with 'C' only every 10-11 s
	// EraseBase and ErasePerMiB size the wait for the block-0 ACK: AN4657
	// and the MXChip bootloader erase the whole destination first, and NOR
	// flash erases at roughly 45 ms per 4 KiB sector typical, several
	// times that worst case (the figure esptool uses: 40 s per MB).
	EraseBase   = 10 * time.Second
	ErasePerMiB = 40 * time.Second
)

// Options tunes Send. The zero value gives the defaults.
type Options struct {
	Retries      int           // tries per frame (block, EOT, end of batch); 0 = DefaultRetries
	Timeout      time.Duration // wait for each reply; 0 = DefaultTimeout
	StartTimeout time.Duration // wait for the receiver's first 'C'; 0 = DefaultStartTimeout
	// EraseTimeout is the wait for the block-0 ACK; 0 = EraseBase plus
	// ErasePerMiB for each MiB of the image.
	EraseTimeout time.Duration
	Log          *slog.Logger // nil = discard
}

// File is one file to send. R is read with ReadAt only; the caller owns it.
type File struct {
	Name string // sent in block 0 (base name only)
	Size int64  // bytes
	R    io.ReaderAt
}

func (o Options) withDefaults(size int64) Options {
	if o.Retries <= 0 {
		o.Retries = DefaultRetries
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.EraseTimeout <= 0 {
		o.EraseTimeout = EraseBase + time.Duration(float64(ErasePerMiB)*float64(size)/(1<<20))
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Send delivers one file as a YMODEM batch of one on port: it waits for
// 'C', sends block 0, the data in 1 KiB blocks (a tail of at most 128 bytes
// goes in a 128-byte block), EOT until ACKed, and the empty block 0 that
// ends the batch. progress gets bytes ACKed out of f.Size.
//
// When ctx is done, or when Send gives up, it sends CAN CAN so the receiver
// stops waiting. Errors wrap ErrCanceled, ErrNoStart, ErrNoReply,
// ErrRejected or ctx's cause, and name the port and block.
func Send(ctx context.Context, port serial.Port, f File, opts Options, progress flasher.Progress) (err error) {
	s := &sender{port: port, f: f, opts: opts.withDefaults(f.Size), progress: progress}
	s.log = s.opts.Log.With("component", "flasher/ymodem", "port", port.String())
	s.rep.port = port
	s.blocks = int((f.Size + LongBlock - 1) / LongBlock)
	stop := context.AfterFunc(ctx, func() { port.SetReadDeadline(time.Now()) })
	defer stop()
	defer port.SetReadDeadline(time.Time{})
	if err = s.run(ctx); err != nil {
		if !errors.Is(err, ErrCanceled) {
			s.cancel()
		}
		return fmt.Errorf("ymodem send %q (%d bytes) to %s: %w", s.name(), f.Size, port, err)
	}
	return nil
}

type sender struct {
	port     serial.Port
	f        File
	opts     Options
	progress flasher.Progress
	log      *slog.Logger
	rep      replies
	blocks   int // data blocks
}

func (s *sender) name() string {
	n := filepath.Base(s.f.Name)
	if s.f.Name == "" || n == "." || n == "/" {
		return "image.bin"
	}
	return n
}

func (s *sender) run(ctx context.Context) error {
	if s.f.Size < 0 || s.f.R == nil {
		return fmt.Errorf("file size %d, reader %v: want a size of 0 or more and a reader", s.f.Size, s.f.R)
	}
	hdr, err := AppendHeader(nil, Header{Name: s.name(), Size: s.f.Size})
	if err != nil {
		return err
	}
	if err := s.waitStart(ctx); err != nil {
		return err
	}
	s.log.Info("ymodem transfer", "state", "sending", "bytes", s.f.Size, "blocks", s.blocks)
	probe := s.lazy(1)
	covered, err := s.deliver(ctx, AppendFrame(nil, 0, hdr, 0), probe, false, s.opts.EraseTimeout)
	if err != nil {
		return fmt.Errorf("block 0 (name and size; the receiver may erase %d bytes first): %w", s.f.Size, err)
	}
	if covered == 1 {
		if err := s.waitC(ctx, "after block 0"); err != nil {
			return err
		}
	}
	if err := s.sendData(ctx, covered, probe); err != nil {
		return err
	}
	if err := s.sendEOT(ctx); err != nil {
		return err
	}
	if err := s.waitC(ctx, "after EOT"); err != nil {
		return err
	}
	if err := s.endBatch(ctx); err != nil {
		return err
	}
	s.log.Info("ymodem transfer", "state", "done", "bytes", s.f.Size, "noise", s.rep.noise)
	return nil
}

// endBatchTries bounds the tries for the empty block 0.
const endBatchTries = 3

// endBatch sends the empty block 0 that ends the batch. Every data byte is
// ACKed by now, and the receiver finishes when the block arrives: AN4657
// and the MXChip bootloader leave YMODEM (the CLI then prints its result)
// and rb exits, so a resend is never answered. If no reply comes at all,
// the missing ACK is reported as a warning, not a failure: rb on a pty even
// flushes its own last ACK (TCIOFLUSH right after writing it). A NAK or a
// cancel is still an error.
func (s *sender) endBatch(ctx context.Context) error {
	frame := AppendFrame(nil, 0, nil, 0)
	for try := 1; try <= endBatchTries; try++ {
		if err := s.write(frame); err != nil {
			return err
		}
		r, err := s.rep.next(ctx, s.opts.Timeout)
		switch {
		case err == nil && r == ACK:
			return nil
		case errors.Is(err, errTimeout):
			continue
		case err != nil:
			return fmt.Errorf("end of batch (empty block 0): %w", err)
		}
		s.log.Warn("end of batch not accepted; resending", "reply", fmt.Sprintf("%#02x", r), "attempt", try)
	}
	s.log.Warn("no ACK for the end of batch; every data block and EOT were ACKed, so the receiver has the file",
		"wait", s.opts.Timeout, "attempt", endBatchTries)
	return nil
}

// waitStart waits for the receiver's 'C'; earlier bytes are discarded.
func (s *sender) waitStart(ctx context.Context) error {
	deadline := time.Now().Add(s.opts.StartTimeout)
	for {
		r, err := s.rep.next(ctx, time.Until(deadline))
		if errors.Is(err, errTimeout) {
			return fmt.Errorf("waited %v: %w; check that the bootloader is waiting for a file and the baud rate", s.opts.StartTimeout, ErrNoStart)
		}
		if err != nil {
			return err
		}
		if r == CRC {
			s.rep.drain()
			return nil
		}
	}
}

// waitC waits for the 'C' that asks for the next block 0. A receiver that
// stays silent (AN4657 asks only after its 1 s timeout) gets the block
// anyway when Timeout runs out.
func (s *sender) waitC(ctx context.Context, when string) error {
	deadline := time.Now().Add(s.opts.Timeout)
	for {
		r, err := s.rep.next(ctx, time.Until(deadline))
		switch {
		case errors.Is(err, errTimeout):
			s.log.Warn("no 'C' from receiver; sending on", "wait", s.opts.Timeout, "when", when)
			return nil
		case err != nil:
			return fmt.Errorf("wait for 'C' %s: %w", when, err)
		case r == CRC:
			return nil
		}
		s.log.Debug("skipping reply while waiting for 'C'", "reply", fmt.Sprintf("%#02x", r), "when", when)
	}
}
