package ymodemtest

import (
	"context"
	"errors"
	"time"

	"ota-agent/flasher/ymodem"
)

// header handles block 0: name and size, or the empty block ending the batch.
func (r *rx) header(ctx context.Context, blk ymodem.Block) error {
	if blk.Seq != 0 {
		r.d.opts.Report.Errorf("ymodemtest: data block %d while waiting for block 0", blk.Seq)
		return r.send(ctx, ymodem.NAK)
	}
	r.errs = 0
	h, err := ymodem.ParseHeader(blk.Data)
	if err != nil {
		r.d.opts.Report.Errorf("ymodemtest: %v", err)
		return r.send(ctx, ymodem.NAK)
	}
	if h.End() {
		r.finish()
		return r.send(ctx, ymodem.ACK)
	}
	if h.Size < 0 && r.strict {
		r.d.opts.Report.Errorf("ymodemtest: block 0 for %q gives no size; AN4657 needs it", h.Name)
		return r.send(ctx, ymodem.NAK)
	}
	if c := r.d.opts.Capacity; c > 0 && h.Size > c {
		r.send(ctx, ymodem.CAN, ymodem.CAN)
		return errTooLarge
	}
	if err := r.erase(ctx, h.Size); err != nil {
		return err
	}
	r.file = File{Name: h.Name, Size: h.Size, Command: r.cmd}
	r.block = 0
	return r.ack(ctx, 0, ymodem.CRC)
}

// erase waits as long as erasing size bytes takes. The UART is not read
// meanwhile, so what the host sends is lost (strict).
func (r *rx) erase(ctx context.Context, size int64) error {
	d := r.d.opts.EraseBase + time.Duration(max(size, 0)/1024)*r.d.opts.ErasePerKiB
	if d <= 0 {
		return nil
	}
	r.d.log.Debug("erasing", "bytes", size, "wait", d)
	if err := sleepFor(ctx, d); err != nil {
		return err
	}
	if r.strict {
		r.ln.discard(ctx)
	}
	return nil
}

// data handles block idx of the file.
func (r *rx) data(ctx context.Context, blk ymodem.Block, idx int) error {
	want := byte(r.block + 1)
	switch {
	case blk.Seq == want-1:
		if r.strict {
			return r.send(ctx, ymodem.NAK) // AN4657: a duplicate is a mismatch
		}
		return r.send(ctx, ymodem.ACK)
	case blk.Seq != want:
		return r.send(ctx, ymodem.NAK)
	}
	r.errs = 0
	if _, ok := r.d.fault(NAK, idx); ok {
		return r.send(ctx, ymodem.NAK)
	}
	n := int64(len(blk.Data))
	if r.file.Size >= 0 {
		n = min(n, r.file.Size-int64(len(r.file.Data)))
		if n <= 0 {
			r.d.opts.Report.Errorf("ymodemtest: block %d of %q lies past its size %d", idx, r.file.Name, r.file.Size)
			n = 0
		}
	}
	r.file.Data = append(r.file.Data, blk.Data[:n]...)
	r.block++
	return r.ack(ctx, idx)
}

func (r *rx) eot(ctx context.Context) error {
	if r.block < 0 {
		r.d.opts.Report.Errorf("ymodemtest: EOT while waiting for block 0")
		return r.send(ctx, ymodem.ACK)
	}
	if _, ok := r.d.fault(NAKEOT, 0); ok {
		return r.send(ctx, ymodem.NAK)
	}
	if s := r.file.Size; s >= 0 && int64(len(r.file.Data)) != s {
		r.d.opts.Report.Errorf("ymodemtest: %q ends after %d bytes, block 0 said %d", r.file.Name, len(r.file.Data), s)
	}
	r.batch = append(r.batch, r.file)
	r.block = -1
	r.begun = r.strict // AN4657 keeps counting errors; rb starts afresh
	if r.strict {
		return r.send(ctx, ymodem.ACK) // 'C' comes from the 1 s timeout
	}
	return r.send(ctx, ymodem.ACK, ymodem.CRC)
}

// cancel handles CAN: a second CAN aborts (AN4657 ACKs it).
func (r *rx) cancel(ctx context.Context) error {
	b, err := r.ln.readN(ctx, 1, r.d.opts.Timeout)
	if errors.Is(err, errIdle) || (err == nil && b[0] != ymodem.CAN) {
		return r.fail(ctx)
	}
	if err != nil {
		return err
	}
	r.send(ctx, ymodem.ACK)
	return errAborted
}

func (r *rx) abort(ctx context.Context) error {
	r.send(ctx, ymodem.CAN, ymodem.CAN)
	return errAborted
}

func (r *rx) stall(ctx context.Context, f Fault) error {
	if f.Stall <= 0 {
		<-ctx.Done()
		return ctx.Err()
	}
	if err := sleepFor(ctx, f.Stall); err != nil {
		return err
	}
	r.ln.discard(ctx)
	return nil
}

// ack sends ACK (and extra bytes such as the 'C' after block 0), unless a
// DropACK fault loses the ACK on the wire.
func (r *rx) ack(ctx context.Context, idx int, extra ...byte) error {
	if _, ok := r.d.fault(DropACK, idx); ok {
		return r.send(ctx, extra...)
	}
	return r.send(ctx, append([]byte{ymodem.ACK}, extra...)...)
}

func (r *rx) send(ctx context.Context, b ...byte) error {
	if len(b) == 0 {
		return nil
	}
	return r.ln.write(ctx, b)
}
