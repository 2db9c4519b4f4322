package download

import (
	"math/rand/v2"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// hardAttemptFactor bounds attempts even when every one makes progress and
// the size is unknown (no budget): (MaxRetries+1) × this.
const hardAttemptFactor = 100

// jitter is exponential backoff with full jitter (a wait drawn uniformly
// from [0, ceiling], the ceiling doubling from MinBackoff to MaxBackoff),
// raised to a server's Retry-After. It stops after MaxRetries failed
// attempts in a row without progress; an attempt that moved the offset by
// a meaningful amount (fetcher.minProgress) resets the count and the ceiling, so a link that drops now and then still
// finishes (the budget bounds what it may cost).
type jitter struct {
	o          Options
	fails      int // failed attempts since the last progress
	total      int
	retryAfter time.Duration // set by the attempt that saw Retry-After
	stopped    stopReason    // why NextBackOff returned Stop
}

// stopReason says why the backoff gave up.
type stopReason int

const (
	running        stopReason = iota
	stopNoProgress            // MaxRetries failed attempts in a row without progress
	stopAttempts              // the hard cap on attempts
)

var _ backoff.BackOff = (*jitter)(nil)

func newJitter(o Options) *jitter { return &jitter{o: o} }

// NextBackOff implements backoff.BackOff.
func (j *jitter) NextBackOff() time.Duration {
	j.fails++
	j.total++
	switch {
	case j.fails > j.o.MaxRetries:
		j.stopped = stopNoProgress
		return backoff.Stop
	case j.total > (j.o.MaxRetries+1)*hardAttemptFactor:
		j.stopped = stopAttempts
		return backoff.Stop
	}
	ceil := j.o.MinBackoff << min(j.fails-1, 30)
	if ceil > j.o.MaxBackoff || ceil <= 0 {
		ceil = j.o.MaxBackoff
	}
	d := time.Duration(rand.Int64N(int64(ceil) + 1))
	if ra := min(j.retryAfter, j.o.MaxRetryAfter); d < ra {
		d = ra
	}
	j.retryAfter = 0
	return d
}

// Reset implements backoff.BackOff.
func (j *jitter) Reset() { j.fails, j.retryAfter = 0, 0 }

// progressed records an attempt that moved the offset by at least
// fetcher.minProgress.
func (j *jitter) progressed() { j.fails = 0 }
