package serial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// ErrTimeout means a read got fewer bytes than it needed before its
// timeout. Errors from ReadFull wrap it together with os.ErrDeadlineExceeded.
var ErrTimeout = errors.New("no reply in time")

// ReadFull reads exactly len(buf) bytes from p within timeout (0: no limit
// other than ctx). Cancelling ctx interrupts a blocked read at once (the
// port's read deadline is moved to now). It returns the bytes read; on a
// timeout the error wraps ErrTimeout and says how many bytes came, on
// cancellation it wraps ctx's error. An io.EOF with no progress (a VTIME
// port) is treated as "nothing yet", not as a closed line.
func ReadFull(ctx context.Context, p Port, buf []byte, timeout time.Duration) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	deadline := time.Time{}
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	if d, ok := ctx.Deadline(); ok && (deadline.IsZero() || d.Before(deadline)) {
		deadline = d
	}
	if err := p.SetReadDeadline(deadline); err != nil {
		return 0, fmt.Errorf("set read deadline on %s: %w", p, err)
	}
	stop := context.AfterFunc(ctx, func() { p.SetReadDeadline(time.Now()) })
	defer stop()
	n := 0
	for n < len(buf) {
		m, err := p.Read(buf[n:])
		n += m
		switch {
		case err == nil:
		case errors.Is(err, io.EOF) && (deadline.IsZero() || time.Now().Before(deadline)):
			if m == 0 {
				if werr := wait(ctx, time.Millisecond); werr != nil {
					return n, werr
				}
			}
		case errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, io.EOF):
			if cerr := ctx.Err(); cerr != nil {
				return n, cerr
			}
			return n, fmt.Errorf("read %s: got %d of %d bytes: %w (%w)", p, n, len(buf), ErrTimeout, os.ErrDeadlineExceeded)
		default:
			return n, fmt.Errorf("read %s: %w", p, err)
		}
	}
	return n, nil
}
