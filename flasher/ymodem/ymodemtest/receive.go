package ymodemtest

import (
	"context"
	"errors"
	"fmt"

	"ota-agent/flasher/ymodem"
)

// Ends of a session other than success; the CLI prints its string for each.
var (
	errTooLarge = errors.New("image size is higher than memory")
	errAborted  = errors.New("aborted")
	errReceive  = errors.New("receive failed")
	errVerify   = errors.New("verification failed")
)

// rx is one YMODEM batch being received.
type rx struct {
	d            *Device
	ln           *line
	strict       bool
	cmd          string
	file         File
	batch        []File
	block        int // data blocks accepted in file; -1 = waiting for block 0
	errs         int
	begun        bool // a valid frame arrived (AN4657 session_begin)
	done         bool // the empty block 0 arrived
	verifyFailed bool
}

// receive runs one batch and returns the last file in it. Completed files
// are recorded unless the batch fails.
func (d *Device) receive(ctx context.Context, ln *line, mode Mode, cmd string) (File, error) {
	r := &rx{d: d, ln: ln, strict: mode == Strict, cmd: cmd, block: -1}
	if err := r.send(ctx, ymodem.CRC); err != nil {
		return File{}, err
	}
	for !r.done {
		if err := r.step(ctx); err != nil {
			if ctx.Err() == nil {
				ln.discard(ctx) // the rest of an aborted frame is not a packet
			}
			return r.file, err
		}
	}
	if r.verifyFailed {
		return r.file, errVerify
	}
	if len(r.batch) == 0 {
		return File{}, fmt.Errorf("%w: batch held no file", errReceive)
	}
	return r.batch[len(r.batch)-1], nil
}

// finish records the batch when the empty block 0 arrives, before its ACK
// leaves, so a host that got the ACK finds the files recorded.
func (r *rx) finish() {
	r.done = true
	if _, ok := r.d.fault(Verify, 0); ok {
		r.verifyFailed = true
		return
	}
	for _, f := range r.batch {
		r.d.record(f)
	}
}

// step waits for one packet start and handles the packet.
func (r *rx) step(ctx context.Context) error {
	b, err := r.ln.readN(ctx, 1, r.d.opts.Timeout)
	if errors.Is(err, errIdle) {
		return r.fail(ctx)
	}
	if err != nil {
		return err
	}
	switch c := b[0]; c {
	case ymodem.SOH, ymodem.STX:
		return r.frame(ctx, c)
	case ymodem.EOT:
		return r.eot(ctx)
	case ymodem.CAN:
		return r.cancel(ctx)
	case 'a', 'A':
		if r.strict {
			r.d.opts.Report.Errorf("ymodemtest: host sent %q where a packet should start: an AN4657 receiver aborts on it", c)
			return r.abort(ctx)
		}
	}
	if r.strict {
		return r.fail(ctx)
	}
	return nil
}

// fail is the AN4657 error path: count an error once the session began,
// abort after 5 (10 when lenient), else ask again ('C'; lenient NAKs a
// data block).
func (r *rx) fail(ctx context.Context) error {
	if r.begun {
		r.errs++
	}
	limit := 10
	if r.strict {
		limit = 5
	}
	if r.errs > limit {
		r.send(ctx, ymodem.CAN, ymodem.CAN)
		return fmt.Errorf("%w: %d errors in a row", errReceive, r.errs)
	}
	if !r.strict && r.block >= 0 {
		return r.send(ctx, ymodem.NAK)
	}
	return r.send(ctx, ymodem.CRC)
}

func (r *rx) frame(ctx context.Context, start byte) error {
	idx := r.block + 1
	if f, ok := r.d.fault(Stall, idx); ok {
		return r.stall(ctx, f)
	}
	if _, ok := r.d.fault(Abort, idx); ok {
		return r.abort(ctx)
	}
	_, drop := r.d.fault(Drop, idx)
	if drop {
		r.ln.dropAt = 10
	}
	rest, err := r.ln.readN(ctx, ymodem.FrameLen(start)-1, r.d.opts.Timeout)
	if errors.Is(err, errIdle) {
		if !drop {
			r.d.opts.Report.Errorf("ymodemtest: block %d: frame incomplete after %v", idx, r.d.opts.Timeout)
		}
		r.ln.discard(ctx)
		return r.fail(ctx)
	}
	if err != nil {
		return err
	}
	f := append([]byte{start}, rest...)
	_, corrupt := r.d.fault(Corrupt, idx)
	if corrupt {
		f[3+7] ^= 0x40
	}
	blk, err := ymodem.DecodeFrame(f)
	if err != nil {
		if !corrupt {
			r.d.opts.Report.Errorf("ymodemtest: block %d on a clean line: %v", idx, err)
		}
		if r.strict {
			return r.fail(ctx)
		}
		r.errs++
		return r.send(ctx, ymodem.NAK)
	}
	r.begun = true
	if r.block < 0 {
		return r.header(ctx, blk)
	}
	return r.data(ctx, blk, idx)
}
