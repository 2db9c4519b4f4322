package download

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// minRateStep is the finest sampling step of the rate watch.
const minRateStep = 10 * time.Millisecond

// slowError ends an attempt slower than Options.MinRate; it matches ErrSlow.
type slowError struct {
	rate, min int64 // bytes/s
	window    time.Duration
}

func (e *slowError) Error() string {
	return fmt.Sprintf("transfer rate %s/s over the last %s is below download.min_rate %s/s; check the link or lower download.min_rate",
		fmtBytes(e.rate), fmtDuration(e.window), fmtBytes(e.min))
}

// Is makes errors.Is(err, ErrSlow) true.
func (e *slowError) Is(target error) bool { return target == ErrSlow }

// rateCounter counts the bytes read through it.
type rateCounter struct {
	r io.Reader
	n atomic.Int64
}

func (c *rateCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// watchRate returns body wrapped to count its bytes and starts a watch that
// cancels the attempt (with a *slowError) when fewer than MinRate × window
// bytes arrived over the last MinRateWindow. The first window opens now,
// when the answer has arrived. stop ends the watch. MinRate 0: no watch.
func (f *fetcher) watchRate(body io.Reader, cancel context.CancelCauseFunc) (r io.Reader, stop func()) {
	if f.o.MinRate <= 0 {
		return body, func() {}
	}
	c := &rateCounter{r: body}
	done := make(chan struct{})
	go f.rateLoop(c, cancel, done)
	return c, func() { close(done) }
}

// sample is the byte count at one instant.
type sample struct {
	at time.Time
	n  int64
}

// rateLoop samples c every window/10 and compares the bytes of the last
// window with MinRate.
func (f *fetcher) rateLoop(c *rateCounter, cancel context.CancelCauseFunc, done <-chan struct{}) {
	window := f.o.MinRateWindow
	step := max(window/10, minRateStep)
	k := max(int(window/step), 1)
	ring := make([]sample, 1, k+1)
	ring[0] = sample{time.Now(), 0}
	tick := time.NewTicker(step)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		now := sample{time.Now(), c.n.Load()}
		if len(ring) == k+1 {
			copy(ring, ring[1:])
			ring = ring[:k]
		}
		ring = append(ring, now)
		if len(ring) < k+1 {
			continue
		}
		dt := now.at.Sub(ring[0].at).Seconds()
		got := float64(now.n - ring[0].n)
		if dt > 0 && got < float64(f.o.MinRate)*dt {
			cancel(&slowError{rate: int64(got / dt), min: f.o.MinRate, window: window})
			return
		}
	}
}
