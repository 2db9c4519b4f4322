package ymodem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"ota-agent/platform/serial"
)

// Sentinel errors of the sender; callers test them with errors.Is.
var (
	// ErrCanceled means the receiver sent CAN CAN: it gave up (too many
	// errors, an image too large for its flash, a typed 'a').
	ErrCanceled = errors.New("receiver canceled the transfer (CAN CAN)")
	// ErrNoStart means the receiver never asked for a transfer with 'C'.
	ErrNoStart = errors.New("receiver never asked for the file with 'C'")
	// ErrNoReply means a frame went unanswered after every retry.
	ErrNoReply = errors.New("no reply from receiver")
	// ErrRejected means the receiver NAKed a frame on every retry.
	ErrRejected = errors.New("receiver rejected the block on every try")
)

// errTimeout is one reply wait running out; the retry loop decides.
var errTimeout = errors.New("reply timeout")

// replies reads the receiver's answers: ACK, NAK, 'C', and CAN CAN (two in a
// row) as ErrCanceled. Anything else is line noise or stray text (the MXChip
// CLI prints around the transfer) and is skipped.
type replies struct {
	port    serial.Port
	buf     [1]byte // one byte per read: what follows a CAN CAN stays in the port for the CLI
	pending []byte
	lastCAN bool
	noise   int // bytes skipped
}

// next returns the next ACK, NAK or 'C' within timeout. It returns
// errTimeout when none came, ErrCanceled on CAN CAN, and ctx's error (with
// the cause) once ctx is done.
func (r *replies) next(ctx context.Context, timeout time.Duration) (byte, error) {
	deadline := time.Now().Add(timeout)
	for {
		for len(r.pending) > 0 {
			b := r.pending[0]
			r.pending = r.pending[1:]
			if v, ok := r.feed(b); ok {
				if v == CAN {
					return 0, ErrCanceled
				}
				return v, nil
			}
		}
		if err := r.read(ctx, deadline); err != nil {
			return 0, err
		}
	}
}

// feed classifies one byte; ok is false for bytes that are not a reply.
func (r *replies) feed(b byte) (byte, bool) {
	if b == CAN {
		if r.lastCAN {
			r.lastCAN = false
			return CAN, true
		}
		r.lastCAN = true
		return 0, false
	}
	r.lastCAN = false
	switch b {
	case ACK, NAK, CRC:
		return b, true
	}
	r.noise++
	return 0, false
}

// read fills pending from the port, waiting until deadline. A read that
// gives io.EOF (a VMIN=0 tty idle for VTIME) counts as a timeout.
func (r *replies) read(ctx context.Context, deadline time.Time) error {
	if err := r.port.SetReadDeadline(deadline); err != nil {
		return fmt.Errorf("set read deadline on %s: %w", r.port, err)
	}
	// ctx's AfterFunc (see Send) moves the deadline to now on cancel; check
	// after setting ours so that a cancel in between is not lost.
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	n, err := r.port.Read(r.buf[:])
	r.pending = r.buf[:n]
	switch {
	case n > 0:
		return nil
	case ctx.Err() != nil:
		return context.Cause(ctx)
	case err == nil:
		return nil
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, io.EOF):
		return errTimeout
	}
	return fmt.Errorf("read %s: %w", r.port, err)
}

// drain discards what the receiver sent before now: stale 'C's queued while
// nobody listened would otherwise read as NAKs of block 0.
func (r *replies) drain() {
	r.pending = nil
	r.lastCAN = false
	if f, ok := r.port.(interface{ Flush() error }); ok && f.Flush() == nil {
		return
	}
	for {
		r.port.SetReadDeadline(time.Now().Add(2 * time.Millisecond))
		if n, err := r.port.Read(r.buf[:]); n == 0 || err != nil {
			return
		}
	}
}
