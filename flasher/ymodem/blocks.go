package ymodem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// lazyFrame builds a frame on first use: the next block is read and encoded
// while the current one is on the wire.
type lazyFrame struct {
	build func() ([]byte, error)
	frame []byte
	err   error
	done  bool
}

func (l *lazyFrame) get() ([]byte, error) {
	if !l.done {
		l.frame, l.err = l.build()
		l.done = true
	}
	return l.frame, l.err
}

// lazy returns block i's frame builder, or nil past the last block.
func (s *sender) lazy(i int) *lazyFrame {
	if i > s.blocks {
		return nil
	}
	return &lazyFrame{build: func() ([]byte, error) { return s.frame(i) }}
}

// frame reads and encodes data block i (1-based).
func (s *sender) frame(i int) ([]byte, error) {
	off := int64(i-1) * LongBlock
	n := min(LongBlock, s.f.Size-off)
	buf := make([]byte, n, MaxFrame+n)
	got, err := s.f.R.ReadAt(buf, off)
	if got < len(buf) {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("read image at %d (%d bytes): %w", off, n, err)
	}
	return AppendFrame(buf[n:n], byte(i), buf, CPMEOF), nil
}

// sendData delivers blocks from..n. next is block from's builder when a
// probe already built it.
func (s *sender) sendData(ctx context.Context, covered int, next *lazyFrame) error {
	i := covered // block 0 counts as 1; a probe that landed covered block 1 too
	if i > 1 {
		s.report(1)
		next = s.lazy(i)
	}
	for i <= s.blocks {
		cur, err := next.get()
		if err != nil {
			return err
		}
		next = s.lazy(i + 1)
		n, err := s.deliver(ctx, cur, next, i == s.blocks, s.opts.Timeout)
		if err != nil {
			lo := int64(i-1) * LongBlock
			return fmt.Errorf("block %d/%d (bytes %d-%d): %w", i, s.blocks, lo, min(lo+LongBlock, s.f.Size)-1, err)
		}
		s.report(i + n - 1)
		if n == 2 {
			i++
			next = s.lazy(i + 1)
		}
		i++
	}
	return nil
}

func (s *sender) report(block int) {
	s.progress.Report(min(int64(block)*LongBlock, s.f.Size), s.f.Size)
}

// deliver writes frame until the receiver ACKs it and returns how many
// frames the ACK covers.
//
// AN4657 receivers NAK a duplicate: when an ACK is lost the resend is NAKed
// forever. So after a timeout (or a 'C', the AN4657 error answer) a NAK is
// ambiguous, and deliver probes with the next frame; an ACK for it covers
// both (returns 2), a NAK means the receiver wants this one after all. The
// last block has nothing to probe with: two such NAKs in a row mean the
// receiver has it, and EOT follows.
func (s *sender) deliver(ctx context.Context, frame []byte, probe *lazyFrame, last bool, timeout time.Duration) (int, error) {
	var naks, timeouts, dupNAKs int
	suspect := false
	for try := 1; try <= s.opts.Retries; try++ {
		if err := s.write(frame); err != nil {
			return 0, err
		}
		if try == 1 && probe != nil {
			if _, err := probe.get(); err != nil {
				return 0, err
			}
		}
		r, err := s.rep.next(ctx, timeout)
		switch {
		case err == nil && r == ACK:
			return 1, nil
		case errors.Is(err, errTimeout):
			timeouts++
			suspect = true
			s.log.Warn("no reply; resending", "seq", frame[1], "attempt", try, "wait", timeout)
			continue
		case err != nil:
			return 0, err
		case r == CRC:
			naks++
			suspect = true
			s.log.Warn("receiver asked again ('C'); resending", "seq", frame[1], "attempt", try)
			continue
		}
		naks++
		s.log.Warn("NAK; resending", "seq", frame[1], "attempt", try)
		if !suspect {
			continue
		}
		if probe != nil {
			try++
			ok, err := s.probe(ctx, probe, timeout)
			if ok || err != nil {
				return 2, err
			}
			continue
		}
		if dupNAKs++; last && dupNAKs >= 2 {
			s.log.Warn("resent last block NAKed twice: taking it as a duplicate the receiver already has", "seq", frame[1])
			return 1, nil
		}
	}
	return 0, s.giveUp(naks, timeouts, timeout)
}

// probe sends the next frame to find out whether the receiver already has
// the current one.
func (s *sender) probe(ctx context.Context, next *lazyFrame, timeout time.Duration) (bool, error) {
	f, err := next.get()
	if err != nil {
		return false, err
	}
	s.log.Warn("NAK after a lost reply: probing with the next block", "seq", f[1])
	if err := s.write(f); err != nil {
		return false, err
	}
	r, err := s.rep.next(ctx, timeout)
	if errors.Is(err, errTimeout) {
		return false, nil
	}
	return err == nil && r == ACK, err
}

func (s *sender) giveUp(naks, timeouts int, timeout time.Duration) error {
	if naks == 0 {
		return fmt.Errorf("%w within %v after %d tries; check wiring, baud rate and that the receiver still runs", ErrNoReply, timeout, timeouts)
	}
	return fmt.Errorf("%w (%d NAKs, %d timeouts in %d tries); check the baud rate and line noise", ErrRejected, naks, timeouts, s.opts.Retries)
}

// sendEOT sends EOT until ACKed. Classic receivers NAK the first EOT to be
// sure it is not line noise; rb and AN4657 ACK it at once.
func (s *sender) sendEOT(ctx context.Context) error {
	var naks, timeouts int
	for try := 1; try <= s.opts.Retries; try++ {
		if err := s.write([]byte{EOT}); err != nil {
			return err
		}
		r, err := s.rep.next(ctx, s.opts.Timeout)
		switch {
		case err == nil && r == ACK:
			return nil
		case errors.Is(err, errTimeout):
			timeouts++
		case err != nil:
			return fmt.Errorf("EOT: %w", err)
		default:
			naks++
			s.log.Debug("EOT answered with NAK; sending it again", "attempt", try)
		}
	}
	return fmt.Errorf("EOT: %w", s.giveUp(naks, timeouts, s.opts.Timeout))
}

func (s *sender) write(b []byte) error {
	if _, err := s.port.Write(b); err != nil {
		return fmt.Errorf("write %s: %w", s.port, err)
	}
	return nil
}

// cancel tells the receiver to stop: CAN CAN, as AN4657 and rb expect.
func (s *sender) cancel() {
	if err := s.write([]byte{CAN, CAN}); err != nil {
		s.log.Debug("cancel not sent", "err", err)
	}
}
