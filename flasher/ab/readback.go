package ab

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash/crc32"
	"io"
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

// readback verifies a slot while it is written. The writer records the
// CRC-32C of each crcBlock of the prefix it writes in order (wsum). One
// goroutine follows the "durable" watermark, advanced after each sync step
// once that part of the written prefix is on the medium and dropped from
// the page cache: it reads it back from the medium and takes the same
// CRCs (rsum). The writer never waits for it, so writing runs at the
// medium's speed and the read-back overlaps it; VerifyWritten then only
// reads the tail and compares the two lists. Any write below what was
// already written (a resume that rewrites bytes), a gap in the prefix or a
// failed read disables it, and the slot is read back in full against the
// image's SHA-256 instead.
type readback struct {
	f    *os.File
	wsum blockCRCs     // [0, prefix) as written (the writer's goroutine only)
	rsum blockCRCs     // [0, end) as read back (the reader's goroutine only)
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
	return &readback{f: f, kick: make(chan struct{}, 1)}
}

// wrote records that b reached the file at off, taking its CRCs when it
// extends the prefix written in order. Rewriting anything already written
// breaks the read-back.
func (r *readback) wrote(b []byte, off int64) {
	r.mu.Lock()
	next := off == r.prefix
	if off < r.prefix {
		r.broken = true
	}
	if next {
		r.prefix += int64(len(b))
	}
	r.mu.Unlock()
	if next {
		r.wsum.Write(b)
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
			if err := hashRange(ctx, r.f, &r.rsum, from, to, false, &r.bufs); err != nil {
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
// (or ctx ends). It reports whether both CRC lists cover exactly [0, n);
// either way they are consumed by the caller.
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
	r.broken = true // the lists are consumed
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

// check compares [0, n) as read back from the medium with what was written:
// the CRC lists when they cover exactly that (ok is false otherwise, and
// nothing was compared). A differing block returns a *blockError. The
// file must be fsynced and [0, n) marked durable.
func (r *readback) check(ctx context.Context, n int64) (ok bool, err error) {
	usable, err := r.finish(ctx, n)
	if err != nil || !usable {
		return false, err
	}
	want, got := r.wsum.final(), r.rsum.final()
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			return true, &blockError{off: int64(i) * crcBlock, got: at(got, i), want: want[i]}
		}
	}
	return true, nil
}

// at returns s[i], or 0 past its end.
func at(s []uint32, i int) uint32 {
	if i < len(s) {
		return s[i]
	}
	return 0
}

// blockError is a block read back that differs from what was written.
type blockError struct {
	off       int64
	got, want uint32
}

func (e *blockError) Error() string {
	return fmt.Sprintf("the %d KiB block at %#x read back differs from what was written (crc32c %08x, want %08x)", crcBlock>>10, e.off, e.got, e.want)
}

// sha256Of returns the SHA-256 of [0, n) of f read back from the medium.
func sha256Of(ctx context.Context, f *os.File, n int64) ([]byte, error) {
	h := sha256.New()
	var bufs [][]byte
	if err := hashRange(ctx, f, h, 0, n, true, &bufs); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// crcBlock is the unit of the read-back's comparison: a corrupt block is
// named by its offset.
const crcBlock = readChunk

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// blockCRCs takes the CRC-32C of each crcBlock of a stream written to it
// in order (hardware CRC: about ten times the speed of SHA-256, so the
// read-back costs little CPU). It detects what a failing medium does to a
// block (any burst up to 32 bits, otherwise all but 2^-32 of errors); the
// image's authenticity is the SHA-256 of what was written, checked before
// it reaches the slot, not this.
type blockCRCs struct {
	sums []uint32
	cur  uint32
	fill int // bytes in the current block
}

// Write implements io.Writer; it never fails.
func (b *blockCRCs) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), crcBlock-b.fill)
		b.cur = crc32.Update(b.cur, castagnoli, p[:k])
		b.fill += k
		p = p[k:]
		if b.fill == crcBlock {
			b.sums = append(b.sums, b.cur)
			b.cur, b.fill = 0, 0
		}
	}
	return n, nil
}

// final returns every block's CRC, the partial last one included.
func (b *blockCRCs) final() []uint32 {
	if b.fill == 0 {
		return b.sums
	}
	return append(b.sums[:len(b.sums):len(b.sums)], b.cur)
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
func hashRange(ctx context.Context, f *os.File, h io.Writer, from, to int64, drop bool, bufs *[][]byte) error {
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
