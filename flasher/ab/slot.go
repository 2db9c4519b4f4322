package ab

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"golang.org/x/sys/unix"

	"ota-agent/flasher"
	"ota-agent/platform/blockdev"
)

// Slot writing parameters.
const (
	// ChunkSize is the write unit: writes that are not whole pages at a
	// page-aligned offset are gathered into chunks aligned to ChunkSize, a
	// multiple of every logical sector size, and writeback is started every
	// ChunkSize of sequential writing.
	ChunkSize = 1 << 20
	// SyncEvery bounds the dirty data: with this many bytes written since
	// the last sync step began, the writer waits for that one and starts
	// another, so at most twice this much is dirty and a slow eMMC never
	// holds hundreds of MiB in the page cache.
	SyncEvery = 32 << 20
)

// syncStep is the sync step cadence when the medium keeps up: every
// syncStep bytes a step (see startSync) starts on its own goroutine unless
// one is still running. Each one lets the read-back take what it wrote back
// to the medium, so the read-back trails the writing closely.
const syncStep = 4 << 20

// pageSize is the unit WriteAt passes straight to the file: a multiple of
// every logical sector size, so a block device needs no read-modify-write.
const pageSize = 4096

// SlotFile is an open slot being written: a block device opened O_EXCL, or
// a regular file in tests. Whole pages at page-aligned offsets are written
// through, other writes are buffered into ChunkSize-aligned chunks. The
// writer never waits for the medium except to keep dirty data under
// 2×SyncEvery: writeback is waited for on its own goroutine, and another
// one reads the written-back prefix back while the writing goes on (see
// Verify). Sync, Verify and Close fdatasync. It
// implements flasher.Slot and is not safe for concurrent use.
type SlotFile struct {
	f     *os.File
	name  string
	size  int64
	buf   []byte // pending bytes for [off, off+len(buf))
	off   int64
	dirty int64 // bytes written since the last sync step started
	// [kickFrom, kickTo) was written sequentially, its writeback not started.
	kickFrom, kickTo int64
	// odd is set by the first write not right after the previous one (or
	// not at 0): from then on sync steps fdatasync the whole slot. stepTo
	// is where the last sync step ended.
	odd    bool
	stepTo int64
	// syncing receives the result of the sync step in flight (nil if
	// none); syncErr keeps the first failure.
	syncing chan error
	syncErr error
	rb      *readback
	skip    *unchanged // nil: every block is written
	// synced: nothing was written since the last fsync or fdatasync of
	// the whole slot, so Close need not make the device flush its cache
	// once more.
	synced bool
	log    *slog.Logger
}

var _ flasher.Slot = (*SlotFile)(nil)

// OpenSlot opens the slot device at path for writing an image of need bytes.
// A block device is opened O_EXCL (refused while mounted, wrapping
// blockdev.ErrBusy); a regular file must exist. A slot smaller than need
// fails with ErrSlotTooSmall. The caller closes the slot.
func OpenSlot(name, path string, need int64, log *slog.Logger) (*SlotFile, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f, err := blockdev.OpenExclusive(path)
	if err != nil {
		return nil, fmt.Errorf("slot %s: %w", name, err)
	}
	size, err := blockdev.Size(f)
	if err == nil && need > size {
		err = fmt.Errorf("%w: image is %d bytes, slot %s (%s) holds %d", ErrSlotTooSmall, need, name, path, size)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &SlotFile{f: f, name: name, size: size, buf: make([]byte, 0, ChunkSize), rb: newReadback(f), log: log}, nil
}

// Name returns the slot name.
func (s *SlotFile) Name() string { return s.name }

// Size returns the slot capacity in bytes.
func (s *SlotFile) Size() int64 { return s.size }

// ReadAt implements io.ReaderAt over what was written (pending bytes are
// written out first), so that a resumed download can re-hash the part
// already in the slot before it trusts it.
func (s *SlotFile) ReadAt(p []byte, off int64) (int, error) {
	if err := s.flush(); err != nil {
		return 0, err
	}
	return s.f.ReadAt(p, off)
}

// WriteAt implements io.WriterAt. Writing past the slot's end is refused.
// Whole pages at a page-aligned offset go straight to the file; the rest is
// gathered into ChunkSize-aligned chunks.
func (s *SlotFile) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > s.size {
		return 0, fmt.Errorf("write slot %s at %d+%d: %w: slot holds %d bytes", s.name, off, len(p), ErrSlotTooSmall, s.size)
	}
	if len(s.buf) > 0 && off != s.off+int64(len(s.buf)) {
		if err := s.flush(); err != nil {
			return 0, err
		}
	}
	done := 0
	if k := len(p) - len(p)%pageSize; len(s.buf) == 0 && off%pageSize == 0 && k > 0 {
		if err := s.writeOut(p[:k], off); err != nil {
			return 0, err
		}
		if err := s.maybeSync(); err != nil {
			return k, err
		}
		p, off, done = p[k:], off+int64(k), k
	}
	n, err := s.gather(p, off)
	return done + n, err
}

// gather appends p (to be written at off, right after the pending bytes if
// any) to the pending chunk, writing each chunk out as it fills.
func (s *SlotFile) gather(p []byte, off int64) (int, error) {
	if len(s.buf) == 0 {
		s.off = off
	}
	n := 0
	for n < len(p) {
		room := ChunkSize - int((s.off+int64(len(s.buf)))%ChunkSize)
		k := min(room, len(p)-n)
		s.buf = append(s.buf, p[n:n+k]...)
		n += k
		if k == room {
			if err := s.flush(); err != nil {
				return n - k, err
			}
		}
	}
	return n, nil
}

// flush writes the pending chunk out and, every syncStep bytes, starts a
// sync step.
func (s *SlotFile) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	if err := s.writeOut(s.buf, s.off); err != nil {
		return err
	}
	s.off += int64(len(s.buf))
	s.buf = s.buf[:0]
	return s.maybeSync()
}

// SkipUnchanged makes the slot leave alone the blocks that already hold
// the bytes to be written (see unchanged.go). It needs O_DIRECT reads and
// reports whether they are available; call it before the first write.
func (s *SlotFile) SkipUnchanged() bool {
	if s.rb.m.direct {
		s.skip = newUnchanged(s.rb.m, s.size)
	}
	return s.skip != nil
}

// Unchanged returns, with SkipUnchanged, the bytes not written because the
// slot held them and the bytes read to find out.
func (s *SlotFile) Unchanged() (skipped, probed int64) {
	if s.skip == nil {
		return 0, 0
	}
	return s.skip.skipped, s.skip.probed
}

// writeOut writes b at off, or with SkipUnchanged the blocks of it the
// slot does not already hold.
func (s *SlotFile) writeOut(b []byte, off int64) error {
	if s.skip == nil {
		return s.put(b, off)
	}
	for len(b) > 0 {
		n := len(b)
		if off%crcBlock == 0 && n >= crcBlock {
			n = crcBlock
			if s.skip.same(b[:n], off) {
				s.keep(b[:n], off)
				b, off = b[n:], off+int64(n)
				continue
			}
		} else if r := int(crcBlock - off%crcBlock); r < n {
			n = r // up to the next block boundary
		}
		if err := s.put(b[:n], off); err != nil {
			return err
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

// keep records a block the slot already holds at off as written: in
// order, and read back (it was just read from the medium).
func (s *SlotFile) keep(blk []byte, off int64) {
	if off != s.kickTo {
		s.odd = true
	}
	if s.kickTo > s.kickFrom {
		_ = blockdev.StartWriteback(s.f, s.kickFrom, s.kickTo-s.kickFrom)
	}
	s.kickFrom, s.kickTo = off+int64(len(blk)), off+int64(len(blk))
	s.rb.kept(blk, off)
}

// put writes b at off and starts the writeback of each ChunkSize of
// sequential writing (sync_file_range: a hint, fdatasync does the real
// work), so the medium is kept busy without waiting.
func (s *SlotFile) put(b []byte, off int64) error {
	s.synced = false
	if s.skip != nil {
		s.skip.wrote(off, int64(len(b)))
	}
	if _, err := s.f.WriteAt(b, off); err != nil {
		return fmt.Errorf("write slot %s (%s) at %#x: %w", s.name, s.f.Name(), off, err)
	}
	n := int64(len(b))
	if off != s.kickTo { // not sequential: start what was pending
		s.odd = true
		if s.kickTo > s.kickFrom { // (a length of 0 would mean to the end)
			_ = blockdev.StartWriteback(s.f, s.kickFrom, s.kickTo-s.kickFrom)
		}
		s.kickFrom = off
	}
	s.kickTo = off + n
	if s.kickTo-s.kickFrom >= ChunkSize {
		_ = blockdev.StartWriteback(s.f, s.kickFrom, s.kickTo-s.kickFrom)
		s.kickFrom = s.kickTo
	}
	s.rb.wrote(b, off)
	s.dirty += n
	return nil
}

// maybeSync starts a sync step when syncStep bytes were written since the
// last one began and none is running, or waits for the running one and
// starts another once SyncEvery bytes are waiting.
func (s *SlotFile) maybeSync() error {
	if s.dirty < syncStep {
		return nil
	}
	if s.dirty < SyncEvery && s.syncing != nil {
		select {
		case err := <-s.syncing:
			s.syncing, s.syncErr = nil, cmp.Or(s.syncErr, err)
		default:
			return nil // still running: keep writing
		}
	}
	return s.startSync()
}

// startSync waits for the sync step in flight, if any, then starts one on
// its own goroutine; when it succeeds, what was written before it began is
// on the medium and the read-back may take it. While the slot has been
// written strictly in order from 0, a step only waits for the writeback of
// what was written since the previous one (sync_file_range): unlike
// fdatasync it does not wait for the pages being written meanwhile, nor
// commit the journal or flush the device cache (Sync, Verify and Close
// fdatasync before anything relies on durability). Otherwise it fdatasyncs.
func (s *SlotFile) startSync() error {
	if err := s.waitSync(); err != nil {
		return err
	}
	to, done := s.rb.written(), make(chan error, 1)
	from, ranged := s.stepTo, !s.odd && to >= s.stepTo
	s.syncing, s.dirty, s.stepTo = done, 0, to
	go func() {
		var err error
		if ranged {
			err = waitWriteback(s.f, from, to-from)
		} else {
			err = blockdev.Fdatasync(s.f)
		}
		if err == nil {
			s.rb.durableTo(to)
		}
		done <- err
	}()
	return nil
}

// waitWriteback writes [off, off+n) of f back to the medium and waits for
// it (sync_file_range WAIT_BEFORE|WRITE|WAIT_AFTER). It bounds dirty memory
// and lets that range be read back from the medium; it does not make it
// durable (no journal commit, no device cache flush).
func waitWriteback(f *os.File, off, n int64) error {
	if n <= 0 {
		return nil
	}
	flags := unix.SYNC_FILE_RANGE_WAIT_BEFORE | unix.SYNC_FILE_RANGE_WRITE | unix.SYNC_FILE_RANGE_WAIT_AFTER
	if err := unix.SyncFileRange(int(f.Fd()), off, n, flags); err != nil {
		return fmt.Errorf("sync_file_range %s at %#x+%d: %w", f.Name(), off, n, err)
	}
	return nil
}

// waitSync waits for the sync step in flight and returns the first error
// any of them had.
func (s *SlotFile) waitSync() error {
	if s.syncing != nil {
		s.syncErr = cmp.Or(s.syncErr, <-s.syncing)
		s.syncing = nil
	}
	if s.syncErr != nil {
		return fmt.Errorf("slot %s: %w", s.name, s.syncErr)
	}
	return nil
}

// Sync makes everything written so far durable (fdatasync).
func (s *SlotFile) Sync() error {
	if err := s.flush(); err != nil {
		return err
	}
	if err := s.waitSync(); err != nil {
		return err
	}
	to := s.rb.written()
	if err := blockdev.Fdatasync(s.f); err != nil {
		return fmt.Errorf("slot %s: %w", s.name, err)
	}
	s.dirty, s.stepTo, s.synced = 0, to, true
	s.rb.durableTo(to)
	return nil
}

// Verify fsyncs, drops the page cache for the first n bytes so they are
// read from the medium, reads them back and compares their SHA-256 with
// sum: the check for a slot written before a restart. A mismatch wraps
// ErrVerify.
func (s *SlotFile) Verify(ctx context.Context, n int64, sum []byte) error {
	s.rb.halt() // nothing it read or would read is used
	if err := s.settle(ctx, n); err != nil {
		return err
	}
	return s.verifySHA(ctx, n, sum)
}

// VerifyWritten is Verify for the n bytes this SlotFile has just written,
// sum being their SHA-256 as the caller hashed them on the way in. When
// they were written in order from 0, with nothing rewritten, it compares
// the CRC-32C of each block read back from the medium (most of it while
// the writing went on) with that of the block as written; otherwise
// (resumed, rewritten, a failed read-back) it reads [0, n) back in full and
// compares its SHA-256 with sum. A mismatch wraps ErrVerify. It may be
// called once.
func (s *SlotFile) VerifyWritten(ctx context.Context, n int64, sum []byte) error {
	if err := s.settle(ctx, n); err != nil {
		return err
	}
	ok, err := s.rb.check(ctx, n)
	if !ok && err == nil {
		return s.verifySHA(ctx, n, sum)
	}
	if err != nil {
		if be := (*blockError)(nil); errors.As(err, &be) {
			return fmt.Errorf("%w: slot %s (%s), %d bytes: %w; the medium may be failing, retry the install", ErrVerify, s.name, s.f.Name(), n, err)
		}
		return fmt.Errorf("verify slot %s: %w", s.name, err)
	}
	kept, _ := s.Unchanged()
	s.log.Info("slot verified", "slot", s.name, "bytes", n, "unchanged", kept, "direct", s.rb.m.direct, "by", "crc32c of each block as written")
	return nil
}

// settle checks n, writes out what is pending, waits for the sync step in
// flight and fsyncs, so that [0, n) can be read back from the medium.
func (s *SlotFile) settle(ctx context.Context, n int64) error {
	if n < 0 || n > s.size {
		return fmt.Errorf("verify slot %s: %d bytes asked, slot holds %d", s.name, n, s.size)
	}
	if err := context.Cause(ctx); err != nil {
		return fmt.Errorf("verify slot %s: %w", s.name, err)
	}
	if err := s.flush(); err != nil {
		return err
	}
	if err := s.waitSync(); err != nil {
		return err
	}
	to := s.rb.written()
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("fsync slot %s: %w", s.name, err)
	}
	s.dirty, s.stepTo, s.synced = 0, to, true
	s.rb.durableTo(to)
	return nil
}

// verifySHA reads [0, n) back from the medium and compares its SHA-256
// with sum.
func (s *SlotFile) verifySHA(ctx context.Context, n int64, sum []byte) error {
	got, err := s.rb.sha256(ctx, n)
	if err != nil {
		return fmt.Errorf("verify slot %s: %w", s.name, err)
	}
	if !bytes.Equal(got, sum) {
		return fmt.Errorf("%w: slot %s (%s), %d bytes: got sha256 %s, want %s; the medium may be failing, retry the install",
			ErrVerify, s.name, s.f.Name(), n, hex.EncodeToString(got), hex.EncodeToString(sum))
	}
	s.log.Info("slot verified", "slot", s.name, "bytes", n, "direct", s.rb.m.direct, "by", "sha256")
	return nil
}

// Close flushes, fsyncs (unless nothing was written since the last Sync or
// verify) and closes the slot. It waits for the fdatasync in
// flight and stops the read-back first: no goroutine outlives the fd.
func (s *SlotFile) Close() error {
	err := s.flush()
	err = errors.Join(err, s.waitSync())
	if s.skip != nil {
		s.skip.close()
	}
	s.rb.close()
	if err == nil && !s.synced {
		err = s.f.Sync()
	}
	return errors.Join(err, s.f.Close())
}
