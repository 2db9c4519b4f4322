package download

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// progressFloor is the most an attempt must add to count as progress (see
// Options.MaxRetries).
const progressFloor = 1 << 20

// elapsed is the time this download has taken: what the journal says
// earlier processes spent, plus this Fetch on the monotonic clock.
func (f *fetcher) elapsed() time.Duration { return f.base + time.Since(f.t0) }

// withTimeBudget returns ctx bounded by what is left of Options.TimeBudget;
// when it runs out, context.Cause is an error wrapping ErrTimeBudget.
func (f *fetcher) withTimeBudget(ctx context.Context) (context.Context, context.CancelFunc) {
	if f.o.TimeBudget <= 0 {
		return ctx, func() {}
	}
	b := fmtDuration(f.o.TimeBudget)
	cause := fmt.Errorf("%w: this version's download has run for %s across attempts and restarts, the limit is download.time_budget %s; the link is too slow for this image, raise download.time_budget or try again later", ErrTimeBudget, b, b)
	return context.WithTimeoutCause(ctx, f.o.TimeBudget-f.elapsed(), cause)
}

// sizeLimit is the most bytes the download may grow to when the offer gives
// no exact size (Options.MaxSize), -1 when it does.
func (f *fetcher) sizeLimit() int64 {
	if f.req.Size > 0 && !f.req.SizeIsEstimate {
		return -1
	}
	return f.o.MaxSize
}

// announcedTooLarge refuses a server total above sizeLimit.
func (f *fetcher) announcedTooLarge(total int64) error {
	if lim := f.sizeLimit(); lim >= 0 && total > lim {
		return backoff.Permanent(fmt.Errorf("%w: the server announces %d bytes, over %s, and the offer gives no size; raise download.max_size if the image really is that large", ErrMaxSize, total, fmtBytes(lim)))
	}
	return nil
}

// minProgress is what an attempt starting at from must add to count as
// progress: min(1 MiB, size/16, what is left), at least one byte.
func (f *fetcher) minProgress(from int64) int64 {
	need := int64(progressFloor)
	size := f.total()
	if size < 0 && f.req.Size > 0 {
		size = NeedBytes(f.req)
	}
	if size > 0 {
		need = min(need, (size+15)/16)
	}
	if t := f.total(); t >= 0 {
		need = min(need, t-from)
	}
	return max(need, 1)
}

// explain turns the error that ended the retry loop into the download's
// verdict: the time budget when it ran out during a backoff, and why the
// attempts stopped when the backoff gave up.
func (f *fetcher) explain(ctx context.Context, err error) error {
	if c := context.Cause(ctx); ctx.Err() != nil && errors.Is(c, ErrTimeBudget) && !errors.Is(err, ErrTimeBudget) {
		return c
	}
	switch f.bo.stopped {
	case stopNoProgress:
		if f.o.MaxRetries == 0 {
			return err // one attempt only: its error says it all
		}
		return fmt.Errorf("%w: %d attempts in a row each fetched less than %s (last: %w); the server or the link keeps failing, try again later",
			ErrNoProgress, f.bo.fails, fmtBytes(f.minProgress(f.j.Offset)), err)
	case stopAttempts:
		return fmt.Errorf("%w: gave up after %d attempts, the cap is (max_retries+1) × %d (last: %w); the server or the link keeps failing, try again later",
			ErrNoProgress, f.attempts, hardAttemptFactor, err)
	}
	return err
}

// fmtBytes formats n the way the configuration writes sizes: "512 B",
// "1KiB", "1.5MiB".
func fmtBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	v, i := float64(n)/1024, 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if v == math.Trunc(v) {
		return fmt.Sprintf("%d%s", int64(v), units[i])
	}
	return fmt.Sprintf("%.1f%s", v, units[i])
}

// fmtDuration formats d the way the configuration writes durations: "6h",
// "5m", "60s", "500ms".
func fmtDuration(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= 2*time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d >= time.Second && d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}
