package ab

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"ota-agent/platform/blockdev"
)

// Read-back buffers: readAhead buffers of readChunk bytes, one being
// hashed while the others are being read (1 MiB in all, so peak RSS stays
// under SPEC §10's 16 MiB).
const (
	readChunk = 256 << 10
	readAhead = 4
)

// mediumReader reads ranges of a slot back from the medium: a block device
// through a descriptor opened O_DIRECT, so nothing goes through the page
// cache; a regular file (or a device that refuses O_DIRECT) through the
// page cache, which forget empties first. It keeps its buffers
// for every range; one goroutine uses it at a time.
type mediumReader struct {
	f      *os.File // the O_DIRECT descriptor, or the slot itself
	slot   *os.File // the slot
	name   string   // the slot's path, for errors
	direct bool
	bufs   [][]byte
	read   atomic.Int64 // bytes read back (the tests count them)
}

// openDirect is blockdev.OpenDirect; tests make it fail to take the page
// cache path.
var openDirect = blockdev.OpenDirect

// directFiles makes regular files read back with O_DIRECT too (tests).
// Otherwise only block devices are: on a regular file (ext4) O_DIRECT
// reads and buffered writes take the inode lock in turn, and a 256 MiB
// slot file took 0.68 s to write and read back instead of 0.29 s.
var directFiles = false

func newMediumReader(slot *os.File) *mediumReader {
	if fi, err := slot.Stat(); err == nil && (fi.Mode()&os.ModeDevice != 0 || directFiles) {
		if d, err := openDirect(slot); err == nil {
			return &mediumReader{f: d, slot: slot, name: slot.Name(), direct: true}
		}
	}
	return &mediumReader{f: slot, slot: slot, name: slot.Name()}
}

// close closes the O_DIRECT descriptor (not the slot).
func (m *mediumReader) close() {
	if m.direct {
		m.f.Close()
	}
	m.bufs = nil
}

// forget drops [from, to), written back, from the page cache: without
// O_DIRECT that makes the next read come from the medium; with it, it only
// keeps the written pages from piling up (a board may have less RAM than
// the image, and the last close of a block device drops them all at once:
// 12-17 ms for 256 MiB on the bench's loop device, where here it happens on the sync step's
// goroutine, off the writer's path). It fails only without O_DIRECT.
func (m *mediumReader) forget(from, to int64) error {
	if to <= from {
		return nil
	}
	err := blockdev.DropCache(m.slot, from, to-from)
	if m.direct {
		return nil
	}
	return err
}

// hash writes [from, to) as read from the medium to h, with up to
// readAhead-1 chunk reads in flight while the oldest chunk is hashed.
// O_DIRECT reads start at the aligned offset below from and are rounded up
// to the alignment; only [from, to) is hashed.
func (m *mediumReader) hash(ctx context.Context, h io.Writer, from, to int64) error {
	if to <= from {
		return nil
	}
	for len(m.bufs) < readAhead {
		m.bufs = append(m.bufs, blockdev.AlignedBuffer(readChunk))
	}
	free := make(chan []byte, readAhead)
	for _, b := range m.bufs {
		free <- b
	}
	stop := make(chan struct{})
	pending := make(chan chan chunk, readAhead) // reads in file order
	go m.issueReads(ctx, from, to, free, pending, stop)
	var err error
	for res := range pending { // after a failure, wait out the reads in flight
		c := <-res
		if err == nil && c.err != nil {
			err = c.err
			close(stop)
		}
		if err == nil {
			h.Write(c.b)
			free <- c.buf
		}
	}
	return err
}

// chunk is one read's result: b, the part of buf to hash.
type chunk struct {
	buf, b []byte
	err    error
}

// issueReads starts a read of each chunk of [from, to) as soon as a buffer
// is free and queues its result on pending, in order. It stops at the
// first failure (queued last) or when stop closes.
func (m *mediumReader) issueReads(ctx context.Context, from, to int64, free chan []byte, pending chan<- chan chunk, stop <-chan struct{}) {
	defer close(pending)
	start := from
	if m.direct {
		start = from &^ (blockdev.DirectAlign - 1)
	}
	for off := start; off < to; off += readChunk {
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
			got, err := m.readAt(b, off, max(from-off, 0), min(readChunk, to-off))
			res <- chunk{buf: b, b: got, err: err}
		}(off)
	}
}

// readAt reads the chunk at off into b and returns its bytes [skip, end):
// with O_DIRECT it reads end rounded up to the alignment, which may run
// short at the end of the device.
func (m *mediumReader) readAt(b []byte, off, skip, end int64) ([]byte, error) {
	n := end
	if m.direct {
		n = (end + blockdev.DirectAlign - 1) &^ (blockdev.DirectAlign - 1)
	}
	got, err := m.f.ReadAt(b[:n], off)
	m.read.Add(int64(got))
	if int64(got) >= end {
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("read back %s at %#x: %d of %d bytes: %w", m.name, off, got, end, err)
	}
	return b[skip:end], nil
}
