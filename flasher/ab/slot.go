package ab

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"ota-agent/flasher"
	"ota-agent/platform/blockdev"
)

// Slot writing parameters.
const (
	// ChunkSize is the write unit: writes are gathered into chunks aligned
	// to ChunkSize, a multiple of every logical sector size.
	ChunkSize = 1 << 20
	// SyncEvery bounds the dirty data: after this many bytes the slot is
	// fdatasync'ed, so a power cut loses at most this much and a slow eMMC
	// never holds hundreds of MiB in the page cache.
	SyncEvery = 32 << 20
)

// SlotFile is an open slot being written: a block device opened O_EXCL, or
// a regular file in tests. Writes are buffered into ChunkSize-aligned
// chunks. It implements flasher.Slot and is not safe for concurrent use.
type SlotFile struct {
	f     *os.File
	name  string
	size  int64
	buf   []byte // pending bytes for [bufOff, bufOff+len(buf))
	off   int64
	dirty int64 // bytes written since the last fdatasync
	rb    *readback
	log   *slog.Logger
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
	return &SlotFile{f: f, name: name, size: size, buf: make([]byte, 0, ChunkSize), rb: newReadback(), log: log}, nil
}

// Name returns the slot name.
func (s *SlotFile) Name() string { return s.name }

// Size returns the slot capacity in bytes.
func (s *SlotFile) Size() int64 { return s.size }

// WriteAt implements io.WriterAt. Writing past the slot's end is refused.
func (s *SlotFile) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > s.size {
		return 0, fmt.Errorf("write slot %s at %d+%d: %w: slot holds %d bytes", s.name, off, len(p), ErrSlotTooSmall, s.size)
	}
	if len(s.buf) > 0 && off != s.off+int64(len(s.buf)) {
		if err := s.flush(); err != nil {
			return 0, err
		}
	}
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

// flush writes the pending chunk, starts its writeback and fdatasyncs every
// SyncEvery bytes.
func (s *SlotFile) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	n := int64(len(s.buf))
	if _, err := s.f.WriteAt(s.buf, s.off); err != nil {
		return fmt.Errorf("write slot %s (%s) at %#x: %w", s.name, s.f.Name(), s.off, err)
	}
	_ = blockdev.StartWriteback(s.f, s.off, n) // a hint; Sync does the real work
	s.rb.wrote(s.off, n)
	s.off += n
	s.buf = s.buf[:0]
	s.dirty += n
	if s.dirty >= SyncEvery {
		return s.datasync()
	}
	return nil
}

func (s *SlotFile) datasync() error {
	if err := blockdev.Fdatasync(s.f); err != nil {
		return fmt.Errorf("slot %s: %w", s.name, err)
	}
	s.dirty = 0
	s.rb.synced(context.Background(), s.f)
	return nil
}

// Sync makes everything written so far durable (fdatasync).
func (s *SlotFile) Sync() error {
	if err := s.flush(); err != nil {
		return err
	}
	return s.datasync()
}

// Verify fsyncs, drops the page cache for the first n bytes so they are
// read from the medium, reads them back and compares their SHA-256 with sum.
// Parts already read back during a sequential write (after each periodic
// fdatasync) are not read again. A mismatch wraps ErrVerify.
func (s *SlotFile) Verify(ctx context.Context, n int64, sum []byte) error {
	if n < 0 || n > s.size {
		return fmt.Errorf("verify slot %s: %d bytes asked, slot holds %d", s.name, n, s.size)
	}
	if err := s.flush(); err != nil {
		return err
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("fsync slot %s: %w", s.name, err)
	}
	s.dirty = 0
	got, err := s.rb.sum(ctx, s.f, n)
	if err != nil {
		return fmt.Errorf("verify slot %s: %w", s.name, err)
	}
	if !bytes.Equal(got, sum) {
		return fmt.Errorf("%w: slot %s (%s), %d bytes: got sha256 %s, want %s; the medium may be failing, retry the install",
			ErrVerify, s.name, s.f.Name(), n, hex.EncodeToString(got), hex.EncodeToString(sum))
	}
	s.log.Info("slot verified", "slot", s.name, "bytes", n)
	return nil
}

// Close flushes, fsyncs and closes the slot.
func (s *SlotFile) Close() error {
	s.rb.wait() // no read-back goroutine may outlive the fd
	err := s.flush()
	if err == nil {
		err = s.f.Sync()
	}
	return errors.Join(err, s.f.Close())
}
