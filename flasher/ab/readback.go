package ab

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"os"
	"sync"

	"ota-agent/platform/blockdev"
)

// Read-back buffers: readAhead buffers of readChunk bytes, one being
// hashed while the others are being read (1 MiB in all: the kernel's
// readahead keeps the medium busy, and peak RSS stays under SPEC §10's
// 16 MiB).
const (
	readChunk = 256 << 10
	readAhead = 4
)

// readback verifies a slot while it is written. One goroutine follows the
// "durable" watermark, advanced after each sync step once that part of the
// written prefix is on the medium and dropped from the page cache: it
// reads it back from the medium and hashes it. The writer never waits for it, so writing
// runs at the medium's speed and the read-back overlaps it; Verify then only
// reads the tail. Any write below what was already written (a resume that
// rewrites bytes), a gap in the prefix or a failed read disables it, and
// Verify reads everything back instead.
type readback struct {
	f    *os.File
	h    hash.Hash     // SHA-256 of [0, end) as read back
	kick chan struct{} // durable advanced or finish was called
	bufs [][]byte      // the reader's buffers, reused by every range

	mu      sync.Mutex
	prefix  int64 // [0, prefix) has been written, in order
	durable int64 // [0, durable) is written back and out of the page cache
	end     int64 // [0, end) has been read back or is being read
	broken  bool  // the running hash cannot be used
	done    bool  // finish was called: stop once end reaches durable
	stop    context.CancelFunc
	exited  chan struct{} // closed when the reader goroutine returns
}

func newReadback(f *os.File) *readback {
	return &readback{f: f, h: sha256.New(), kick: make(chan struct{}, 1)}
}

// wrote records that [off, off+n) reached the file. Rewriting anything
// already written breaks the running hash.
func (r *readback) wrote(off, n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if off < r.prefix {
		r.broken = true
	}
	if off == r.prefix {
		r.prefix += n
	}
}

// written returns the end of the written prefix.
func (r *readback) written() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.prefix
}

// durableTo records that [0, to) is on the medium, drops the new part from
// the page cache (here, on the syncing goroutine, not on the reader's) and
// wakes the reader, starting it on first use. to must have been written
// before the writeback wait or fdatasync began; calls must not overlap.
func (r *readback) durableTo(to int64) {
	r.mu.Lock()
	from := r.durable
	if r.broken || r.done || to <= from {
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	if err := blockdev.DropCache(r.f, from, to-from); err != nil {
		r.setBroken() // Verify drops and reads everything instead
		return
	}
	r.mu.Lock()
	if r.broken || r.done { // closed meanwhile
		r.mu.Unlock()
		return
	}
	r.durable = to
	if r.exited == nil {
		ctx, cancel := context.WithCancel(context.Background())
		r.stop, r.exited = cancel, make(chan struct{})
		go r.run(ctx)
	}
	r.mu.Unlock()
	r.wake()
}

func (r *readback) wake() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// run reads back and hashes durable ranges in order until finished,
// broken or cancelled.
func (r *readback) run(ctx context.Context) {
	defer close(r.exited)
	defer func() { r.bufs = nil }()
	for {
		from, to, ok := r.claim()
		if !ok {
			return
		}
		if to > from { // durableTo dropped the range from the page cache
			if err := hashRange(ctx, r.f, r.h, from, to, false, &r.bufs); err != nil {
				r.setBroken()
				return
			}
			continue
		}
		select {
		case <-r.kick:
		case <-ctx.Done():
			return
		}
	}
}

// claim returns the next range to read; ok is false when the reader should
// return (broken, or finished and caught up).
func (r *readback) claim() (from, to int64, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.broken || (r.done && r.end >= r.durable) {
		return 0, 0, false
	}
	from, to = r.end, r.durable
	r.end = to
	return from, to, true
}

func (r *readback) setBroken() {
	r.mu.Lock()
	r.broken = true
	r.mu.Unlock()
}

// finish tells the reader no more ranges come and waits until it returns
// (or ctx ends). It reports whether the running hash covers exactly [0, n)
// as read back; either way the hash is consumed by the caller.
func (r *readback) finish(ctx context.Context, n int64) (bool, error) {
	r.mu.Lock()
	r.done = true
	exited := r.exited
	r.mu.Unlock()
	if exited != nil {
		r.wake()
		select {
		case <-exited:
		case <-ctx.Done():
			return false, context.Cause(ctx)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	usable := !r.broken && r.end == n && r.prefix == n
	r.broken = true // the running hash is consumed
	return usable, nil
}

// close stops the reader and waits for it: no goroutine may outlive the fd.
func (r *readback) close() {
	r.mu.Lock()
	r.broken, r.done = true, true
	exited, stop := r.exited, r.stop
	r.mu.Unlock()
	if exited != nil {
		stop()
		<-exited
	}
}

// sum returns the SHA-256 of [0, n) read back from the medium, using what
// was read during the write when it covers exactly that. The file must be
// fsynced and [0, n) marked durable.
func (r *readback) sum(ctx context.Context, n int64) ([]byte, error) {
	usable, err := r.finish(ctx, n)
	if err != nil {
		return nil, err
	}
	if usable {
		return r.h.Sum(nil), nil
	}
	h := sha256.New()
	var bufs [][]byte
	if err := hashRange(ctx, r.f, h, 0, n, true, &bufs); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// readAt reads the n bytes of f at off into b.
func readAt(f *os.File, b []byte, off, n int64) ([]byte, error) {
	m, err := f.ReadAt(b[:n], off)
	if err != nil {
		return nil, fmt.Errorf("read back %s at %#x: %d of %d bytes: %w", f.Name(), off, m, n, err)
	}
	return b[:m], nil
}

// hashRange hashes [from, to) of f as read from the medium (first dropping
// it from the page cache if drop; else the caller did), with up to
// readAhead-1 chunk reads in flight while the oldest chunk is hashed. It
// reuses and fills *bufs, so a reader hashing many ranges allocates once.
func hashRange(ctx context.Context, f *os.File, h hash.Hash, from, to int64, drop bool, bufs *[][]byte) error {
	if to <= from {
		return nil
	}
	if drop {
		if err := blockdev.DropCache(f, from, to-from); err != nil {
			return err
		}
	}
	for len(*bufs) < readAhead {
		*bufs = append(*bufs, make([]byte, readChunk))
	}
	free := make(chan []byte, readAhead)
	for _, b := range *bufs {
		free <- b
	}
	stop := make(chan struct{})
	pending := make(chan chan chunk, readAhead) // reads in file order
	go issueReads(ctx, f, from, to, free, pending, stop)
	var err error
	for res := range pending { // after a failure, wait out the reads in flight
		c := <-res
		if err == nil && c.err != nil {
			err = c.err
			close(stop)
		}
		if err == nil {
			h.Write(c.b)
			free <- c.b[:cap(c.b)]
		}
	}
	return err
}

// chunk is one read's result.
type chunk struct {
	b   []byte
	err error
}

// issueReads starts a read of each chunk of [from, to) as soon as a buffer
// is free and queues its result on pending, in order. It stops at the
// first failure (queued last) or when stop closes.
func issueReads(ctx context.Context, f *os.File, from, to int64, free chan []byte, pending chan<- chan chunk, stop <-chan struct{}) {
	defer close(pending)
	for off := from; off < to; off += readChunk {
		select {
		case <-stop:
			return
		default:
		}
		var b []byte
		select {
		case b = <-free:
		case <-stop:
			return
		}
		res := make(chan chunk, 1)
		if err := context.Cause(ctx); err != nil {
			res <- chunk{err: err}
			pending <- res
			return
		}
		pending <- res
		go func(off int64) {
			got, err := readAt(f, b, off, min(readChunk, to-off))
			res <- chunk{b: got, err: err}
		}(off)
	}
}
