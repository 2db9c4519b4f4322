package download

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"
)

// verifyPrefix re-hashes the journal's first Offset bytes from dst when dst
// can be read back (an io.ReaderAt such as a staging file) and restarts
// from zero when they no longer give the journal's hash states: the partial
// file was altered, truncated or lost on disk since the journal was
// written, and resuming would digest bytes nobody checked. A Dest that
// cannot be read back keeps the journal's states. It fails only when ctx
// ends.
func (f *fetcher) verifyPrefix(ctx context.Context) error {
	ra, ok := f.dst.(io.ReaderAt)
	if f.j.Offset == 0 || !ok {
		return nil
	}
	t0 := time.Now()
	h, why, err := rehash(ctx, ra, f.j.Offset, f.h.md5 != nil)
	if err != nil {
		return err
	}
	if why == "" {
		why = sameStates(h, f.j)
	}
	if why != "" {
		f.restart("staged prefix changed on disk since the journal was written: " + why)
		return nil
	}
	f.h = h
	f.log.Info("staged prefix matches the download journal", "bytes", f.j.Offset, "took", time.Since(t0))
	return nil
}

// rehash digests ra's first n bytes (MD5 too when withMD5). why is set
// when fewer than n bytes can be read; err only when ctx ends.
func rehash(ctx context.Context, ra io.ReaderAt, n int64, withMD5 bool) (h hashes, why string, err error) {
	h = newHashesFor(withMD5)
	buf := make([]byte, bufSize)
	for off := int64(0); off < n; {
		if ctx.Err() != nil {
			return h, "", context.Cause(ctx)
		}
		k, rerr := ra.ReadAt(buf[:min(int64(len(buf)), n-off)], off)
		h.Write(buf[:k])
		off += int64(k)
		switch {
		case off >= n:
		case rerr == io.EOF || (rerr == nil && k == 0):
			return h, fmt.Sprintf("only %d of the journal's %d bytes are on disk (the journal is ahead of the data)", off, n), nil
		case rerr != nil:
			return h, fmt.Sprintf("read back at offset %d: %v", off, rerr), nil
		}
	}
	return h, "", nil
}

// sameStates compares h with the journal's hash states; "" when equal.
func sameStates(h hashes, j *journal) string {
	m, s, err := h.marshal()
	switch {
	case err != nil:
		return err.Error()
	case h.md5 != nil && !bytes.Equal(m, j.MD5State):
		return fmt.Sprintf("the md5 of the first %d bytes differs from the journal's", j.Offset)
	case !bytes.Equal(s, j.SHA256State):
		return fmt.Sprintf("the sha-256 of the first %d bytes differs from the journal's", j.Offset)
	}
	return ""
}
