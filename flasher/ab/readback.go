package ab

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"os"

	"ota-agent/platform/blockdev"
)

// readback verifies a slot while it is written: after each fdatasync the
// newly durable part of the written prefix is dropped from the page cache,
// read back from the medium and hashed by a goroutine, overlapping the read
// with the next writes. Verify then only reads the tail. Any write below
// what was already read (a resume that rewrites bytes) or a gap in the
// prefix disables it, and Verify reads everything back instead.
type readback struct {
	h      hash.Hash // SHA-256 of [0, end) as read back
	end    int64     // end of the range read or being read
	prefix int64     // bytes [0, prefix) have been written and flushed
	job    chan error
	broken bool
}

func newReadback() *readback { return &readback{h: sha256.New()} }

// wrote records that [off, off+n) reached the file.
func (r *readback) wrote(off, n int64) {
	if off < r.end {
		r.broken = true
	}
	if off <= r.prefix {
		r.prefix = max(r.prefix, off+n)
	}
}

// synced starts reading back what became durable, after the previous job.
func (r *readback) synced(ctx context.Context, f *os.File) {
	if r.wait() != nil || r.broken || r.prefix <= r.end {
		return
	}
	from, to := r.end, r.prefix
	r.end = to
	r.job = make(chan error, 1)
	go func(job chan error) { job <- hashRange(ctx, f, r.h, from, to) }(r.job)
}

// wait waits for the running job; a failed read disables the readback.
func (r *readback) wait() error {
	if r.job == nil {
		return nil
	}
	err := <-r.job
	r.job = nil
	if err != nil {
		r.broken = true
	}
	return err
}

// sum returns the SHA-256 of [0, n) read back from f, using what was read
// during the write when it can. f must be fsynced.
func (r *readback) sum(ctx context.Context, f *os.File, n int64) ([]byte, error) {
	r.wait()
	defer func() { r.broken = true }() // the running hash is consumed
	if r.broken || r.end > n || r.prefix < n {
		h := sha256.New()
		if err := hashRange(ctx, f, h, 0, n); err != nil {
			return nil, err
		}
		return h.Sum(nil), nil
	}
	if err := hashRange(ctx, f, r.h, r.end, n); err != nil {
		return nil, err
	}
	return r.h.Sum(nil), nil
}

// hashRange drops [from, to) from the page cache and hashes it as read from
// the medium, reading the next chunk while the previous one is hashed.
func hashRange(ctx context.Context, f *os.File, h hash.Hash, from, to int64) error {
	if to <= from {
		return nil
	}
	if err := blockdev.DropCache(f, from, to-from); err != nil {
		return err
	}
	type chunk struct {
		b   []byte
		err error
	}
	ch := make(chan chunk, 2)
	free := make(chan []byte, 3)
	for range 3 {
		free <- make([]byte, ChunkSize)
	}
	go func() {
		defer close(ch)
		for off := from; off < to; {
			b := <-free
			if err := context.Cause(ctx); err != nil {
				ch <- chunk{err: err}
				return
			}
			m, err := f.ReadAt(b[:min(int64(len(b)), to-off)], off)
			if err != nil {
				ch <- chunk{err: fmt.Errorf("read back %s at %#x: %w", f.Name(), off, err)}
				return
			}
			ch <- chunk{b: b[:m]}
			off += int64(m)
		}
	}()
	var err error
	for c := range ch {
		if c.err != nil {
			err = c.err
			continue
		}
		h.Write(c.b)
		free <- c.b[:cap(c.b)]
	}
	return err
}
