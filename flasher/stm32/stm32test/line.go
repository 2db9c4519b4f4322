package stm32test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"ota-agent/platform/serial/serialtest"
)

// Conn is the device end of a line: a pty master, or any stream whose
// reads honour deadlines.
type Conn interface {
	io.ReadWriter
	SetReadDeadline(t time.Time) error
}

// errReset aborts the frame being served: the MCU was reset.
var errReset = errors.New("mcu reset")

// bitsPerByte on the modelled line: the bootloader runs 8E1 even though a
// pty carries 8N1.
const bitsPerByte = 11

// line is the simulator's side of the UART: received bytes with the time
// each one has fully crossed the line, and the pacing of replies.
type line struct {
	ctx     context.Context
	conn    Conn
	s       *Sim
	baud    func() int
	pending []byte
	arrived []time.Time // when each pending byte came out of the pty
	done    []time.Time // when each pending byte has fully crossed the line
	inFree  time.Time
	outFree time.Time
	gen     int // the Sim's reset generation this frame belongs to
	chunk   [4096]byte
}

func (l *line) byteTime() time.Duration {
	if !l.s.opts.LineModel || l.baud == nil {
		return 0
	}
	return serialtest.ByteTime(l.baud(), bitsPerByte)
}

// fill reads one chunk from the host.
func (l *line) fill() error {
	n, err := l.conn.Read(l.chunk[:])
	if n > 0 {
		now, bt := time.Now(), l.byteTime()
		start := now
		if l.inFree.After(start) {
			start = l.inFree
		}
		for i := 0; i < n; i++ {
			l.pending = append(l.pending, l.chunk[i])
			l.arrived = append(l.arrived, now)
			l.done = append(l.done, start.Add(time.Duration(i+1)*bt))
		}
		l.inFree = l.done[len(l.done)-1]
		l.s.mu.Lock()
		l.s.stats.BytesIn += int64(n)
		l.s.mu.Unlock()
	}
	switch {
	case n > 0 || err == nil:
		return nil
	case l.ctx.Err() != nil:
		return l.ctx.Err()
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil
	}
	return err
}

// next returns the next n received bytes once they have crossed the line,
// with the faults of one received frame applied.
func (l *line) next(n int) ([]byte, error) {
	raw := n
	drop := l.s.chance(l.s.opts.Faults.Drop)
	if drop {
		raw++
	}
	for len(l.pending) < raw {
		if err := l.checkReset(); err != nil {
			return nil, err
		}
		if err := l.fill(); err != nil {
			return nil, err
		}
	}
	if err := l.checkReset(); err != nil {
		return nil, err
	}
	if err := sleep(l.ctx, time.Until(l.done[raw-1])); err != nil {
		return nil, err
	}
	b := append([]byte(nil), l.pending[:raw]...)
	l.pending, l.arrived, l.done = l.pending[raw:], l.arrived[raw:], l.done[raw:]
	if drop {
		i := l.s.intn(raw)
		b = append(b[:i], b[i+1:]...)
	}
	if l.s.chance(l.s.opts.Faults.BitFlip) {
		b[l.s.intn(n)] ^= 1 << l.s.intn(8)
	}
	return b, nil
}

// checkReset drops the bytes that reached the MCU before it was last
// reset, and aborts a frame that a reset interrupted.
func (l *line) checkReset() error {
	l.s.mu.Lock()
	gen, at := l.s.resetGen, l.s.resetAt
	l.s.mu.Unlock()
	if gen == l.gen {
		return nil
	}
	i := 0
	for i < len(l.pending) && l.arrived[i].Before(at) {
		i++
	}
	l.pending, l.arrived, l.done = l.pending[i:], l.arrived[i:], l.done[i:]
	return errReset
}

// send replies after the turnaround latency, paced at the line rate, with
// the reply faults applied.
func (l *line) send(b ...byte) error {
	if l.s.chance(l.s.opts.Faults.Stall) {
		l.s.log.Debug("stm32 simulator: stalling", "wait", l.s.opts.Faults.StallFor)
		if err := sleep(l.ctx, l.s.opts.Faults.StallFor); err != nil {
			return err
		}
	}
	if l.s.chance(l.s.opts.Faults.ReplyFlip) {
		b = append([]byte(nil), b...)
		b[l.s.intn(len(b))] ^= 1 << l.s.intn(8)
	}
	start := time.Now().Add(l.s.opts.Latency)
	if l.outFree.After(start) {
		start = l.outFree
	}
	l.outFree = start.Add(time.Duration(len(b)) * l.byteTime())
	if err := sleep(l.ctx, time.Until(l.outFree)); err != nil {
		return err
	}
	if _, err := l.conn.Write(b); err != nil {
		return fmt.Errorf("stm32 simulator: reply: %w", err)
	}
	l.s.mu.Lock()
	l.s.stats.BytesOut += int64(len(b))
	l.s.mu.Unlock()
	return nil
}

// busy spends device time d (erase, programming), scaled by
// Options.Service.
func (l *line) busy(d time.Duration) error {
	d = time.Duration(float64(d) * l.s.opts.Service)
	l.s.mu.Lock()
	l.s.stats.Busy += d
	l.s.mu.Unlock()
	return sleep(l.ctx, d)
}

// spinBelow is how close to its target a wait stops trusting the timer and
// yields in a loop instead: a timer may fire a millisecond late on a busy
// machine, which would add up to seconds over a transfer and make the line
// model slower than the line it models.
const spinBelow = 2 * time.Millisecond

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	until := time.Now().Add(d)
	if d > spinBelow {
		if err := timerWait(ctx, d-spinBelow); err != nil {
			return err
		}
	}
	for time.Now().Before(until) {
		if err := ctx.Err(); err != nil {
			return err
		}
		runtime.Gosched()
	}
	return nil
}

func timerWait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
