package ab

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash/crc32"
	"os"
	"sync"
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
	f    *os.File      // the slot, as opened for writing
	m    *mediumReader // reads it from the medium
	wsum blockCRCs     // [0, prefix) as written (the writer's goroutine only)
	rsum blockCRCs     // [0, end) as read back (the reader's goroutine only)
	kick chan struct{} // durable advanced or finish was called

	mu sync.Mutex
	// keptCRC[i] is 1<<32 | the CRC of block i when the writer found the
	// slot already held it (SkipUnchanged): the reader takes the CRC
	// instead of reading the block again.
	keptCRC []uint64
	prefix  int64 // [0, prefix) has been written, in order
	durable int64 // [0, durable) is written back and out of the page cache
	end     int64 // [0, end) has been read back or is being read
	broken  bool  // the running hash cannot be used
	done    bool  // finish was called: stop once end reaches durable
	stop    context.CancelFunc
	exited  chan struct{} // closed when the reader goroutine returns
}

func newReadback(f *os.File) *readback {
	return &readback{f: f, m: newMediumReader(f), kick: make(chan struct{}, 1)}
}

// wrote records that b reached the file at off, taking its CRCs when it
// extends the prefix written in order, which it reports. Rewriting
// anything already written breaks the read-back.
func (r *readback) wrote(b []byte, off int64) bool {
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
	return next
}

// kept records that the slot already held blk at off (a whole aligned
// block), compared with what was read from the medium: it counts as
// written, and as read back once the reader reaches it (the reader only
// gets there after a later sync step or verify on this goroutine).
func (r *readback) kept(blk []byte, off int64) {
	if !r.wrote(blk, off) {
		return
	}
	i := int(off / crcBlock)
	c := r.wsum.sums[i] // off is block-aligned: wrote took exactly this block's CRC
	r.mu.Lock()
	for len(r.keptCRC) <= i {
		r.keptCRC = append(r.keptCRC, 0)
	}
	r.keptCRC[i] = 1<<32 | uint64(c)
	r.mu.Unlock()
}

// keptBlock returns the first block in [from, to) the writer kept, and
// its CRC; ok is false if there is none.
func (r *readback) keptBlock(from, to int64) (at int64, crc uint32, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := (from + crcBlock - 1) / crcBlock; (i+1)*crcBlock <= to && i < int64(len(r.keptCRC)); i++ {
		if r.keptCRC[i] != 0 {
			return i * crcBlock, uint32(r.keptCRC[i]), true
		}
	}
	return 0, 0, false
}

// readRange takes the CRCs of [from, to) as read back into rsum, reading
// the medium except for the blocks the writer kept.
func (r *readback) readRange(ctx context.Context, from, to int64) error {
	for from < to {
		at, crc, ok := r.keptBlock(from, to)
		if !ok {
			return r.m.hash(ctx, &r.rsum, from, to)
		}
		if err := r.m.hash(ctx, &r.rsum, from, at); err != nil {
			return err
		}
		r.rsum.sums = append(r.rsum.sums, crc) // at is block-aligned: rsum is at a block boundary
		from = at + crcBlock
	}
	return nil
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
	if err := r.m.forget(from, to); err != nil {
		r.setBroken() // the slot is read back in full instead
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
	for {
		from, to, ok := r.claim()
		if !ok {
			return
		}
		if to > from { // durableTo had the page cache forget the range
			if err := r.readRange(ctx, from, to); err != nil {
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

// stop ends the reader and waits for it: no goroutine may outlive the fd.
// The medium reader stays open for a full read-back (sha256).
func (r *readback) halt() {
	r.mu.Lock()
	r.broken, r.done = true, true
	exited, stop := r.exited, r.stop
	r.mu.Unlock()
	if exited != nil {
		stop()
		<-exited
	}
}

// close stops the reader and closes the medium reader.
func (r *readback) close() {
	r.halt()
	r.m.close()
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

// sha256 returns the SHA-256 of [0, n) read back from the medium, once the
// reader has stopped (halt or finish).
func (r *readback) sha256(ctx context.Context, n int64) ([]byte, error) {
	if err := r.m.forget(0, n); err != nil {
		return nil, err
	}
	h := sha256.New()
	if err := r.m.hash(ctx, h, 0, n); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// crcBlock is the unit of the read-back's comparison: a corrupt block is
// named by its offset.
const crcBlock = 256 << 10

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
