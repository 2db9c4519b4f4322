package stm32

import (
	"context"
	"fmt"
)

// retry runs op up to the configured number of tries. Between tries it
// resynchronises with the bootloader, because a lost or corrupted byte
// leaves it mid-frame. A cancelled ctx is final. A NACK to a command is
// retried too: a corrupted command byte also gets one, so only a NACK that
// persists means readout protection.
// This is the one loop that decides between retrying and giving up.
func (f *flash) retry(ctx context.Context, what string, op func() error) error {
	var err error
	for try := 1; try <= f.opts.Retries; try++ {
		if err = op(); err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, context.Cause(ctx))
		}
		if try == f.opts.Retries {
			break
		}
		f.log.Warn("stm32 retry", "state", what, "attempt", try, "err", err)
		if rerr := f.c.Resync(ctx); rerr != nil {
			return fmt.Errorf("%s: %w; then %w", what, err, rerr)
		}
	}
	return fmt.Errorf("%s: %w after %d tries", what, err, f.opts.Retries)
}
