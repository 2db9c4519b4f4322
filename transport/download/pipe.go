package download

import (
	"context"
	"encoding"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// The body is copied through a pipeline so that reading, writing and the
// digests run at once (MD5 alone is slower than a loopback copy):
//
//	reader (attempt goroutine) → writer → SHA hasher ┐
//	                                    → MD5 hasher ┴→ journaler
//
// The MD5 hasher runs only when the request gives an MD5.
// The reader fills pooled buffers and hands them to the writer in order.
// The writer writes each buffer at its offset and forwards it to the
// hashers, so the hashes only ever cover bytes already in dst. A buffer that
// ends a sync interval carries a checkpoint: the writer calls Dest.Sync after
// writing it, each hasher marshals its state right after hashing it, and the
// last hasher to let go of the buffer passes the checkpoint to the
// journaler, which saves it. A journal therefore only ever holds hash states
// that match its offset and data already synced. Dest is used by the writer
// alone (flasher slots are not safe for concurrent use).
//
// Memory is bounded by the pool: pipeDepth buffers of bufSize. The reader
// waits for checkpoint k to be saved before it marks checkpoint k+1, so the
// journal never lags more than one interval behind.

// maxPipeBufs caps the buffers in flight.
const maxPipeBufs = 16

// pipeDepth is the number of pooled buffers for a sync interval: half an
// interval's worth (the bytes received but not yet journaled stay near one
// interval), at least four. Each buffer passes through the reader, the
// writer and the hashers in turn, so the pipeline runs at the speed of its
// slowest stage (the SHA-256 hasher, on a fast medium) only with several
// buffers in flight: with four, a 256 MiB install from a local file spent
// 232 ms of its 350 ms of writing waiting for a free buffer.
func pipeDepth(syncEvery int64) int {
	return int(min(max(syncEvery/2/bufSize, 4), maxPipeBufs))
}

// chunk is one pooled buffer in flight.
type chunk struct {
	buf  []byte
	n    int
	off  int64 // destination offset of buf[0]
	ck   *ckpt // non-nil: checkpoint at off+n
	refs atomic.Int32
}

// ckpt is a journal snapshot taken at a chunk boundary.
type ckpt struct {
	j        journal // Offset and Fetched at the boundary
	md5, sha []byte  // hash states at j.Offset
	saved    chan struct{}
}

// bufPool hands out at most max buffers, allocated on first use.
type bufPool struct {
	free chan *chunk
	made int
}

func newBufPool(depth int) *bufPool { return &bufPool{free: make(chan *chunk, depth)} }

// get returns a free buffer, waiting for one when all are in flight.
func (p *bufPool) get(ctx context.Context, stop <-chan struct{}) (*chunk, error) {
	select {
	case c := <-p.free:
		return c, nil
	default:
	}
	if p.made < cap(p.free) {
		p.made++
		return &chunk{buf: make([]byte, bufSize)}, nil
	}
	select {
	case c := <-p.free:
		return c, nil
	case <-stop:
		return nil, errPipeStopped
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

func (p *bufPool) put(c *chunk) {
	c.ck, c.n = nil, 0
	p.free <- c // never blocks: cap is the number of buffers
}

// errPipeStopped tells the reader that a later stage failed; pipe.err says why.
var errPipeStopped = errors.New("download pipeline stopped")

// pipe is the pipeline of one copy call.
type pipe struct {
	f                     *fetcher
	toWrite, toMD5, toSHA chan *chunk // toMD5 is nil without MD5
	toJournal             chan *ckpt
	stop                  chan struct{}
	once                  sync.Once
	err                   error // first stage failure; read after the stages end
	stages, journaler     sync.WaitGroup
	hashers               int32 // hasher stages each chunk goes to
	hashed                int64 // end of the bytes hashed (SHA hasher)
	saved                 int64 // offset of the last journal saved
}

func (f *fetcher) startPipe() *pipe {
	d := cap(f.pool.free)
	p := &pipe{f: f, stop: make(chan struct{}), hashed: f.j.Offset, saved: f.synced, hashers: 1,
		toWrite: make(chan *chunk, d), toSHA: make(chan *chunk, d), toJournal: make(chan *ckpt, 2)}
	p.stages.Add(2)
	go p.write()
	go p.hash(f.h.sha256, p.toSHA, &p.hashed, func(ck *ckpt, s []byte) { ck.sha = s })
	if f.h.md5 != nil {
		p.toMD5, p.hashers = make(chan *chunk, d), 2
		p.stages.Add(1)
		go p.hash(f.h.md5, p.toMD5, new(int64), func(ck *ckpt, s []byte) { ck.md5 = s })
	}
	p.journaler.Add(1)
	go p.journal()
	return p
}

// fail records the first failure and tells the reader to stop.
func (p *pipe) fail(err error) {
	p.once.Do(func() {
		p.err = err
		close(p.stop)
	})
}

func (p *pipe) stopped() bool {
	select {
	case <-p.stop:
		return true
	default:
		return false
	}
}

// close lets the stages drain what was submitted, waits for all of them and
// brings the fetcher's offset and sync mark up to date. It returns the first
// stage failure.
func (p *pipe) close() error {
	close(p.toWrite)
	p.stages.Wait()
	close(p.toJournal)
	p.journaler.Wait()
	p.f.j.Offset = p.hashed
	p.f.synced = max(p.f.synced, p.saved)
	return p.err
}

// write is the writer stage: WriteAt, Sync at checkpoints, then on to the
// hashers. After a failure it only returns buffers to the pool.
func (p *pipe) write() {
	defer p.stages.Done()
	defer p.closeHashers()
	for c := range p.toWrite {
		if p.stopped() {
			p.f.pool.put(c)
			continue
		}
		if err := p.f.writeChunk(c); err != nil {
			p.fail(err)
			p.f.pool.put(c)
			continue
		}
		c.refs.Store(p.hashers)
		p.toSHA <- c
		if p.toMD5 != nil {
			p.toMD5 <- c
		}
	}
}

func (p *pipe) closeHashers() {
	close(p.toSHA)
	if p.toMD5 != nil {
		close(p.toMD5)
	}
}

// writeChunk writes c at its offset and, at a checkpoint, syncs dst.
func (f *fetcher) writeChunk(c *chunk) error {
	if _, err := f.dst.WriteAt(c.buf[:c.n], c.off); err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			err = fmt.Errorf("%w: %w", ErrNoSpace, err)
		}
		return fmt.Errorf("write destination at offset %d: %w", c.off, err)
	}
	if c.ck == nil {
		return nil
	}
	if err := f.dst.Sync(); err != nil {
		return fmt.Errorf("sync destination at %d bytes: %w", c.ck.j.Offset, err)
	}
	return nil
}

// hash is a hasher stage; end tracks the end of the bytes hashed.
func (p *pipe) hash(h hash.Hash, in <-chan *chunk, end *int64, keep func(*ckpt, []byte)) {
	defer p.stages.Done()
	for c := range in {
		h.Write(c.buf[:c.n])
		*end = c.off + int64(c.n)
		if c.ck != nil {
			s, err := h.(encoding.BinaryMarshaler).MarshalBinary()
			if err != nil {
				p.fail(fmt.Errorf("marshal hash state: %w", err))
			}
			keep(c.ck, s)
		}
		p.release(c)
	}
}

// release drops one hasher's hold on c; the last one passes c's checkpoint
// to the journaler and returns the buffer.
func (p *pipe) release(c *chunk) {
	if c.refs.Add(-1) > 0 {
		return
	}
	if c.ck != nil {
		p.toJournal <- c.ck // the reader keeps at most one checkpoint unsaved
	}
	p.f.pool.put(c)
}

// journal is the journaler stage.
func (p *pipe) journal() {
	defer p.journaler.Done()
	for ck := range p.toJournal {
		if p.stopped() {
			continue
		}
		ck.j.MD5State, ck.j.SHA256State = ck.md5, ck.sha
		if err := ck.j.save(p.f.req.Journal); err != nil {
			p.fail(fmt.Errorf("save download journal: %w", err))
			continue
		}
		p.saved = ck.j.Offset
		close(ck.saved)
	}
}

// feed is the reader stage: it fills buffers from body and submits them,
// marking a checkpoint every SyncEvery bytes, at most one per MinSyncGap,
// when there is a journal. The stall timer runs only while a read is
// outstanding.
func (f *fetcher) feed(actx, ctx context.Context, p *pipe, body io.Reader, stall *time.Timer) error {
	total, lim, off, mark := f.total(), f.sizeLimit(), f.j.Offset, f.synced
	var prev *ckpt
	markedAt := time.Now()
	for {
		stall.Stop()
		c, err := f.pool.get(actx, p.stop)
		if err != nil {
			return f.readError(actx, ctx, "read body", err)
		}
		c.off = off
		n, rerr := fill(body, c.buf, stall, f.o.StallTimeout)
		if total >= 0 && off+int64(n) > total {
			n = int(total - off)
			rerr = errOverflow
		} else if lim >= 0 && off+int64(n) > lim {
			n = int(lim - off)
			rerr = errMaxSize
		}
		c.n = n
		off += int64(n)
		f.readAt = off
		f.j.Fetched += int64(n)
		if f.journaling() && off-mark >= f.o.SyncEvery && rerr == nil && time.Since(markedAt) >= f.o.MinSyncGap {
			if err := f.waitSaved(actx, ctx, p, prev); err != nil {
				f.pool.put(c)
				return err
			}
			c.ck = &ckpt{j: *f.j, saved: make(chan struct{})}
			c.ck.j.Offset, c.ck.j.Elapsed, prev, mark, markedAt = off, f.elapsed(), c.ck, off, time.Now()
		}
		if n > 0 {
			p.toWrite <- c // never blocks: cap is the number of buffers
		} else {
			f.pool.put(c)
		}
		f.reportAt(off, false)
		if err := f.afterChunk(actx, ctx, rerr, total); err != nil || rerr == io.EOF {
			return err
		}
	}
}

var (
	errOverflow = errors.New("overflow")
	errMaxSize  = errors.New("over max size")
)

// afterChunk turns a read result into the reader's verdict: nil to go on,
// an error to stop (io.EOF passes through as nil at the caller).
func (f *fetcher) afterChunk(actx, ctx context.Context, rerr error, total int64) error {
	switch {
	case rerr == errOverflow:
		return backoff.Permanent(fmt.Errorf("%w: server sent more than %d bytes", ErrSize, total))
	case rerr == errMaxSize:
		return backoff.Permanent(fmt.Errorf("%w: the server sent more than %s and the offer gives no size (an endless stream?); raise download.max_size if the image really is that large", ErrMaxSize, fmtBytes(f.sizeLimit())))
	case rerr == io.EOF:
		return nil
	case rerr != nil:
		return f.readError(actx, ctx, "read body", rerr)
	}
	if b := f.budget(); b >= 0 && f.j.Fetched > b {
		return backoff.Permanent(fmt.Errorf("%w: fetched %d bytes, the cap is %.1f × size = %d", ErrBudget, f.j.Fetched, f.o.Budget, b))
	}
	return nil
}

// waitSaved waits until checkpoint prev (nil: none) is in the journal.
func (f *fetcher) waitSaved(actx, ctx context.Context, p *pipe, prev *ckpt) error {
	if prev == nil {
		return nil
	}
	select {
	case <-prev.saved:
		return nil
	case <-p.stop:
		return errPipeStopped
	case <-actx.Done():
		return f.readError(actx, ctx, "wait for journal", context.Cause(actx))
	}
}

// fill reads from body until buf is full or the read fails, arming the
// stall timer for each read.
func fill(body io.Reader, buf []byte, stall *time.Timer, timeout time.Duration) (int, error) {
	n := 0
	for n < len(buf) {
		stall.Reset(timeout)
		k, err := body.Read(buf[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
