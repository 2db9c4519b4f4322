package ymodemtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"ota-agent/platform/serial/serialtest"
)

// Conn is the device end of a serial line, e.g. a Pty's Master. Reads must
// honour SetReadDeadline.
type Conn interface {
	io.ReadWriter
	SetReadDeadline(t time.Time) error
}

// errIdle is a read that found nothing before its deadline.
var errIdle = errors.New("line idle")

// line is the device's UART. With a baud rate it models the wire: the pty
// hands over a whole frame at once, so a byte counts as received only one
// byte time after the one before it, and replies leave at line rate after a
// turnaround latency.
type line struct {
	c       Conn
	baud    func() int
	latency time.Duration
	out     serialtest.Shaper
	buf     []byte    // received and not yet consumed
	arrive  time.Time // when the last byte of buf has crossed the line
	rbuf    [4096]byte
	dropAt  int // drop the byte this many bytes into the next readN; 0 = none
}

func newLine(c Conn, baud func() int, latency time.Duration) *line {
	return &line{c: c, baud: baud, latency: latency, out: serialtest.Shaper{Baud: baud}}
}

func (l *line) byteTime() time.Duration {
	if l.baud == nil {
		return 0
	}
	return serialtest.ByteTime(l.baud(), 10)
}

// fill reads what the host has written, waiting until deadline.
func (l *line) fill(ctx context.Context, deadline time.Time) error {
	l.c.SetReadDeadline(deadline)
	if err := ctx.Err(); err != nil {
		return err
	}
	n, err := l.c.Read(l.rbuf[:])
	if n > 0 {
		start := time.Now()
		if l.arrive.After(start) {
			start = l.arrive
		}
		l.arrive = start.Add(time.Duration(n) * l.byteTime())
		l.buf = append(l.buf, l.rbuf[:n]...)
		return nil
	}
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errIdle
	case err != nil:
		return fmt.Errorf("read from host: %w", err)
	}
	return nil
}

// readN returns the next n bytes once they have crossed the line, or
// errIdle when they did not all come before timeout (counted from now, as
// the AN4657 receiver times a whole packet).
func (l *line) readN(ctx context.Context, n int, timeout time.Duration) ([]byte, error) {
	deadline := time.Now().Add(timeout)
	drop := l.dropAt
	l.dropAt = 0
	want := n
	if drop > 0 {
		want++ // one byte is lost on the wire: n arrive only if the host sends more
	}
	for len(l.buf) < want {
		if err := l.fill(ctx, deadline); err != nil {
			return nil, err
		}
	}
	if drop > 0 {
		l.buf = append(l.buf[:drop], l.buf[drop+1:]...)
	}
	at := l.arrive.Add(-time.Duration(len(l.buf)-n) * l.byteTime())
	if err := sleepUntil(ctx, at); err != nil {
		return nil, err
	}
	b := append([]byte(nil), l.buf[:n]...)
	l.buf = l.buf[n:]
	return b, nil
}

// discard drops everything the host sent so far.
func (l *line) discard(ctx context.Context) {
	l.buf = l.buf[:0]
	for l.fill(ctx, time.Now().Add(5*time.Millisecond)) == nil {
		l.buf = l.buf[:0]
	}
}

// write sends b after the turnaround latency at line rate. A host that does
// not read cannot block the device: a UART transmitter never waits.
func (l *line) write(ctx context.Context, b []byte) error {
	if err := sleepFor(ctx, l.latency); err != nil {
		return err
	}
	if err := sleepFor(ctx, l.out.Delay(time.Now(), len(b))); err != nil {
		return err
	}
	if d, ok := l.c.(interface{ SetWriteDeadline(time.Time) error }); ok {
		d.SetWriteDeadline(time.Now().Add(time.Second))
	}
	if _, err := l.c.Write(b); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("write to host: %w", err)
	}
	return nil
}

func sleepFor(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func sleepUntil(ctx context.Context, t time.Time) error { return sleepFor(ctx, time.Until(t)) }
