package download

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Defaults for zero Options fields (SPEC §8 [download]).
const (
	DefaultStallTimeout = 60 * time.Second
	DefaultMaxRetries   = 8
	DefaultBudget       = 3.0
	DefaultSyncEvery    = 4 << 20
	// DefaultMinSyncGap spaces checkpoints on a fast link: a Dest.Sync
	// waits for the medium and drains the pipeline, so 64 of them made a
	// 256 MiB slot install over loopback twice as slow. A resume then
	// fetches again at most max(SyncEvery, MinSyncGap of transfer) bytes.
	DefaultMinSyncGap = 250 * time.Millisecond
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 2 * time.Minute
	// DefaultMaxRetryAfter caps a server's Retry-After so that a hostile or
	// confused server cannot park the agent for days.
	DefaultMaxRetryAfter = 10 * time.Minute
	// DefaultMinRateWindow is the window of Options.MinRate.
	DefaultMinRateWindow = 60 * time.Second
	// DefaultMaxSize caps a download whose size the offer does not give.
	DefaultMaxSize = 4 << 30

	bufSize          = 256 << 10
	progressInterval = 200 * time.Millisecond
)

// Options tune Fetch and Stage. Zero fields take the defaults above.
type Options struct {
	Client       *http.Client  // nil: NewHTTPClient(TLSConfig{}) (https only)
	StallTimeout time.Duration // abort an attempt when no byte arrives for this long
	// MaxRetries is the number of failed attempts in a row without
	// progress before giving up; -1 = none. An attempt progresses when it
	// adds at least min(1 MiB, size/16, what is left) bytes (1 MiB when the
	// size is unknown), so a server that drops every connection after a
	// few bytes fails after MaxRetries+1 attempts instead of crawling on.
	MaxRetries int
	// Budget bounds the bytes fetched per download, across attempts and
	// restarts: Budget × size, where size is the exact size, else the
	// estimate plus 5 % (at most MaxSize), else MaxSize.
	Budget    float64
	SyncEvery int64 // bytes between Dest.Sync + journal checkpoints
	// MinSyncGap is the least time between two checkpoints (0: the
	// default, negative: none); a slow link still checkpoints every
	// SyncEvery bytes.
	MinSyncGap    time.Duration
	MinBackoff    time.Duration // first backoff ceiling (full jitter: uniform in [0, ceiling])
	MaxBackoff    time.Duration // largest backoff ceiling
	MaxRetryAfter time.Duration // cap on a server's Retry-After
	// MinRate (bytes/s) ends an attempt whose average rate over the last
	// MinRateWindow is lower; 0 = off. The first window opens when the
	// answer's headers arrive (before that StallTimeout bounds the wait),
	// so a 1 B/s trickle ends after about one window. The rate counts the
	// whole pipeline: a destination slower than MinRate trips it too.
	MinRate       int64
	MinRateWindow time.Duration // 0: DefaultMinRateWindow
	// TimeBudget bounds the time one download may take, across attempts,
	// backoffs and restarts (the time spent is kept in the journal, measured
	// on the monotonic clock, so wall-clock jumps do not count); exceeding
	// it is final (ErrTimeBudget). 0 = no bound.
	TimeBudget time.Duration
	// MaxSize caps a download whose exact size the offer does not give (no
	// size, or an estimate): more bytes than this fail with ErrMaxSize, and
	// the byte budget is taken from it. 0: DefaultMaxSize.
	MaxSize int64
	Log     *slog.Logger // nil = discard
}

func (o Options) withDefaults() (Options, error) {
	if o.Client == nil {
		c, err := NewHTTPClient(TLSConfig{})
		if err != nil {
			return o, err
		}
		o.Client = c
	}
	c := *o.Client
	c.Timeout = 0 // a whole-request timeout would kill long downloads; the stall timeout bounds them
	o.Client = &c
	o.StallTimeout = orDefault(o.StallTimeout, DefaultStallTimeout)
	o.MinBackoff = orDefault(o.MinBackoff, DefaultMinBackoff)
	o.MaxBackoff = orDefault(o.MaxBackoff, DefaultMaxBackoff)
	o.MaxRetryAfter = orDefault(o.MaxRetryAfter, DefaultMaxRetryAfter)
	o.SyncEvery = orDefault(o.SyncEvery, DefaultSyncEvery)
	if o.MinSyncGap == 0 {
		o.MinSyncGap = DefaultMinSyncGap
	}
	o.MinRateWindow = orDefault(o.MinRateWindow, DefaultMinRateWindow)
	o.MaxSize = orDefault(o.MaxSize, DefaultMaxSize)
	if o.MaxRetries == 0 {
		o.MaxRetries = DefaultMaxRetries
	}
	if o.MaxRetries < 0 {
		o.MaxRetries = 0
	}
	if o.Budget <= 0 {
		o.Budget = DefaultBudget
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

func orDefault[T int64 | time.Duration](v, d T) T {
	if v <= 0 {
		return d
	}
	return v
}

// Request is one download.
type Request struct {
	// URL is fetched verbatim and is the download's identity in its journal.
	URL string
	// Resolve, when set, returns the URL to fetch; it is called before each
	// attempt and so again after a 403 (Aliyun presigned URLs expire).
	Resolve        func(ctx context.Context) (string, error)
	Size           int64  // bytes; 0 = unknown
	SizeIsEstimate bool   // Size is an estimate (AKASO "20.8MB"), not checked
	MD5, SHA256    string // expected hex, case-insensitive; either may be empty
	// Journal is the path of this download's resume journal (under
	// state_dir); empty = no resume across restarts.
	Journal string
}

// NeedBytes is the space a download needs: the exact size, or the estimate
// plus 5 %. 0 means unknown.
func NeedBytes(req Request) int64 {
	if req.SizeIsEstimate {
		return req.Size + req.Size/20
	}
	return req.Size
}

// Dest receives the bytes at their offsets. An *os.File and an A/B slot
// (flasher.Slot) are Dests. Sync must make everything written so far
// durable: the journal is written only after it returns.
type Dest interface {
	io.WriterAt
	Sync() error
}

// Result is a verified download.
type Result struct {
	Size        int64
	MD5, SHA256 string // lower-case hex of what was written; MD5 only when the request gives one
}

// Fetch downloads req into dst at offset 0 in one pass, resuming from
// req.Journal when it describes the same download, and verifies size and
// digests. progress (may be nil) is called at most every 200 ms and once at
// the end. Every failure is an *Error; a digest mismatch wraps *DigestError
// and discards the journal. Fetch returns within its bounds: StallTimeout
// and MinRate per attempt, MaxRetries failed attempts without progress,
// Budget × size bytes, MaxSize, TimeBudget, and ctx. A resumed download
// whose Dest is an io.ReaderAt (a staging file) re-hashes the bytes already
// on disk first and restarts from zero when they are not the journal's.
func Fetch(ctx context.Context, o Options, req Request, dst Dest, progress func(done, total int64)) (Result, error) {
	o, err := o.withDefaults()
	if err != nil {
		return Result{}, &Error{URL: redact(req.URL), Err: err}
	}
	f := newFetcher(o, req, dst, progress)
	f.resume()
	ctx, cancel := f.withTimeBudget(ctx)
	defer cancel()
	err = f.verifyPrefix(ctx)
	if err == nil {
		op := func() error { return f.attempt(ctx) }
		err = backoff.RetryNotify(op, backoff.WithContext(f.bo, ctx), f.notify)
	}
	if err != nil {
		err = f.explain(ctx, err)
		if !errors.Is(err, context.Canceled) || ctx.Err() == nil {
			f.log.Error("download failed", "url", redact(f.lastURL), "bytes", f.j.Offset, "total", f.total(), "attempt", f.attempts, "err", err)
		}
		return Result{}, &Error{URL: redact(f.lastURL), Done: f.j.Offset, Total: max(f.total(), 0), Attempts: f.attempts, Err: err}
	}
	return f.result, nil
}

// fetcher is the state of one Fetch call.
type fetcher struct {
	o        Options
	req      Request
	dst      Dest
	progress func(done, total int64)
	log      *slog.Logger

	j        *journal
	h        hashes
	synced   int64 // offset covered by the last Sync
	attempts int
	lastURL  string
	bo       *jitter
	pool     *bufPool
	lastProg time.Time
	result   Result
	t0       time.Time     // start of this Fetch (monotonic)
	base     time.Duration // time spent before this Fetch, from the journal
	readAt   int64         // offset the reader has reached in this attempt
	finished bool          // finish ran: the journal is gone, never save it again
}

func newFetcher(o Options, req Request, dst Dest, progress func(done, total int64)) *fetcher {
	return &fetcher{
		o: o, req: req, dst: dst, progress: progress,
		log:     o.Log.With("component", "transport/download"),
		lastURL: req.URL,
		bo:      newJitter(o),
		pool:    newBufPool(pipeDepth(o.SyncEvery)),
		t0:      time.Now(),
	}
}

// newHashes returns the digests this download computes: SHA-256, and MD5
// only when the request gives one (MD5 costs more CPU than the copy).
func (f *fetcher) newHashes() hashes { return newHashesFor(f.req.MD5 != "") }

// fresh returns an empty journal for f.req.
func (f *fetcher) fresh() *journal {
	return &journal{Version: journalVersion, URL: f.req.URL, WantSize: f.req.Size, WantMD5: f.req.MD5, WantSHA256: f.req.SHA256, Total: -1}
}

// resume loads the journal when it describes this download, else starts
// from zero and says why.
func (f *fetcher) resume() {
	f.j, f.h = f.fresh(), f.newHashes()
	if f.req.Journal == "" {
		return
	}
	j, err := loadJournal(f.req.Journal)
	switch {
	case err != nil:
		f.log.Warn("ignoring unreadable download journal; starting from zero", "path", f.req.Journal, "err", err)
		return
	case j == nil:
		return
	case j.URL != f.req.URL || j.WantSize != f.req.Size || j.WantMD5 != f.req.MD5 || j.WantSHA256 != f.req.SHA256:
		f.log.Info("download journal is for another download; starting from zero", "path", f.req.Journal, "url", redact(j.URL))
		return
	}
	if err := f.h.unmarshal(j.MD5State, j.SHA256State); err != nil {
		f.h = f.newHashes()
		return
	}
	f.j, f.synced, f.base = j, j.Offset, j.Elapsed
	f.log.Info("resuming download", "url", redact(f.req.URL), "bytes", j.Offset, "total", j.Total)
}

// restart drops what was fetched and starts again from zero.
func (f *fetcher) restart(why string) {
	f.log.Warn("restarting download from zero", "url", redact(f.lastURL), "bytes", f.j.Offset, "reason", why)
	fetched := f.j.Fetched
	f.j, f.h, f.synced = f.fresh(), f.newHashes(), 0
	f.j.Fetched = fetched
	if err := f.saveJournal(); err != nil { // keeps Fetched and Elapsed across a restart
		f.log.Warn("cannot save download journal", "path", f.req.Journal, "err", err)
	}
}

// total is the size the download is expected to reach, -1 if unknown.
func (f *fetcher) total() int64 {
	if f.j.Total >= 0 {
		return f.j.Total
	}
	if f.req.Size > 0 && !f.req.SizeIsEstimate {
		return f.req.Size
	}
	return -1
}

// budget is the most bytes this download may fetch: Budget × the exact
// size, else × the estimate plus 5 % (at most MaxSize), else × MaxSize.
func (f *fetcher) budget() int64 {
	size := f.total()
	if size < 0 && f.req.Size > 0 {
		size = NeedBytes(f.req)
	}
	if lim := f.sizeLimit(); lim >= 0 && (size < 0 || size > lim) {
		size = lim
	}
	return int64(f.o.Budget * float64(max(size, 1)))
}

func (f *fetcher) notify(err error, wait time.Duration) {
	f.log.Warn("download attempt failed; retrying", "url", redact(f.lastURL), "attempt", f.attempts, "bytes", f.j.Offset, "wait", wait, "err", err)
}

func (f *fetcher) report(force bool) { f.reportAt(f.j.Offset, force) }

// reportAt reports done bytes (at most every progressInterval unless force).
func (f *fetcher) reportAt(done int64, force bool) {
	if f.progress == nil {
		return
	}
	if now := time.Now(); force || now.Sub(f.lastProg) >= progressInterval {
		f.lastProg = now
		f.progress(done, max(f.total(), 0))
	}
}

// checkpoint makes the bytes so far durable, then records them in the journal.
func (f *fetcher) checkpoint() error {
	if err := f.dst.Sync(); err != nil {
		return fmt.Errorf("sync destination at %d bytes: %w", f.j.Offset, err)
	}
	f.synced = f.j.Offset
	return f.saveJournal()
}

// saveJournal records the offset, hash states and time spent (the data up
// to the offset must already be synced).
func (f *fetcher) saveJournal() error {
	if !f.journaling() {
		return nil
	}
	m, s, err := f.h.marshal()
	if err != nil {
		return err
	}
	f.j.MD5State, f.j.SHA256State, f.j.Elapsed = m, s, f.elapsed()
	if err := f.j.save(f.req.Journal); err != nil {
		return fmt.Errorf("save download journal: %w", err)
	}
	return nil
}

// journaling reports whether checkpoints go to the journal: there is one,
// and dst can resume (an image being unpacked as it arrives cannot).
func (f *fetcher) journaling() bool {
	if f.req.Journal == "" {
		return false
	}
	r, ok := f.dst.(interface{ Resumable() bool })
	return !ok || r.Resumable()
}
