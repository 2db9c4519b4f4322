package ab

import (
	"bytes"
	"errors"

	"ota-agent/platform/blockdev"
)

// Unchanged-block skipping (SkipUnchanged): each crcBlock-aligned block
// about to be written is first compared with what the slot holds, read
// ahead a window at a time with O_DIRECT (the next window is read while the
// current one is compared); an equal block is not written (no flash wear,
// no write time) and needs no read-back, since it was just read from the
// medium. Probing backs off when blocks keep differing, so a wholly new
// image costs a few reads.
const (
	probeWindow = 1 << 20  // bytes per probe read
	probeMisses = 4        // differing blocks in a row before probing pauses
	probePause  = 8 << 20  // the first pause; it doubles up to maxPause
	maxPause    = 64 << 20 // and a block found equal resets it
)

// unchanged holds the probe state of one slot. It is used by the writer
// alone; the read of the next window runs on its own goroutine.
type unchanged struct {
	m        *mediumReader // O_DIRECT
	size     int64         // the slot's size
	cur      *window       // the slot's bytes being compared (nil: none)
	next     *window       // the window being read ahead (nil: none)
	spares   [][]byte      // free window buffers (two are ever made)
	made     int           // window buffers allocated
	misses   int
	pause    int64
	resumeAt int64 // no probing below this offset
	skipped  int64 // bytes not written because the slot held them
	probed   int64 // bytes read to compare
	failed   bool  // a probe read failed: write everything
}

// window is the slot's bytes [off, off+n), once done is closed. Only
// [validFrom, off+n) may be compared: the slot was written below validFrom
// since (or while) the window was read.
type window struct {
	off, validFrom int64
	n              int
	buf            []byte
	err            error
	done           chan struct{}
}

func newUnchanged(m *mediumReader, size int64) *unchanged {
	return &unchanged{m: m, size: size}
}

// same reports whether the slot already holds blk at off (a whole,
// aligned block).
func (u *unchanged) same(blk []byte, off int64) bool {
	if u.failed || off < u.resumeAt {
		return false
	}
	end := off + int64(len(blk))
	if !u.cur.covers(off, end) {
		u.cur = u.take(off)
		if !u.cur.covers(off, end) { // a failed or short read
			u.failed = true
			return false
		}
	}
	eq := bytes.Equal(u.cur.buf[off-u.cur.off:][:len(blk)], blk)
	u.judge(eq, end)
	if u.next == nil && eq {
		u.next = u.readAhead(u.cur.off + int64(u.cur.n))
	}
	return eq
}

// take returns the window starting at off: the one read ahead if it is
// that one, else one read now. The previous window's buffer is reused.
func (u *unchanged) take(off int64) *window {
	if u.cur != nil {
		u.spares, u.cur = append(u.spares, u.cur.buf), nil
	}
	if w := u.next; w != nil {
		u.next = nil
		<-w.done
		if w.off == off && w.err == nil {
			return w
		}
		u.spares = append(u.spares, w.buf)
	}
	w := u.readAhead(off)
	if w != nil {
		<-w.done
	}
	return w
}

// readAhead starts reading the window at off (nil when less than a block
// of the slot is left there).
func (u *unchanged) readAhead(off int64) *window {
	n := min(int64(probeWindow), u.size-off) &^ (blockdev.DirectAlign - 1)
	if n < crcBlock {
		return nil
	}
	var buf []byte
	if k := len(u.spares); k > 0 {
		buf, u.spares = u.spares[k-1], u.spares[:k-1]
	} else {
		buf, u.made = blockdev.AlignedBuffer(probeWindow), u.made+1
	}
	w := &window{off: off, validFrom: off, buf: buf, done: make(chan struct{})}
	u.probed += n
	go func() {
		defer close(w.done)
		got, err := u.m.f.ReadAt(w.buf[:n], off)
		if int64(got) < n && err == nil {
			err = errShortProbe
		}
		w.n, w.err = got, err
	}()
	return w
}

// covers reports whether w holds [off, end) as the slot does (w done, or
// nil).
func (w *window) covers(off, end int64) bool {
	return w != nil && w.err == nil && off >= w.validFrom && end <= w.off+int64(w.n)
}

// wrote records that [off, off+n) of the slot was written: where a window
// (read or being read) meets it, nothing below its end is compared any more.
// In order, that is only the block just found different.
func (u *unchanged) wrote(off, n int64) {
	for _, w := range []*window{u.cur, u.next} {
		if w != nil && off < w.off+probeWindow && off+n > w.off {
			w.validFrom = max(w.validFrom, off+n)
		}
	}
}

// close waits for the read ahead in flight: no goroutine outlives the fd.
func (u *unchanged) close() {
	if u.next != nil {
		<-u.next.done
		u.next = nil
	}
}

// judge updates the back-off after a block ending at end compared eq.
func (u *unchanged) judge(eq bool, end int64) {
	if eq {
		u.misses, u.pause = 0, 0
		u.skipped += crcBlock
		return
	}
	if u.misses++; u.misses < probeMisses {
		return
	}
	u.misses, u.pause = 0, min(max(2*u.pause, probePause), maxPause)
	u.resumeAt = end + u.pause
}

// errShortProbe is a probe read that returned less than asked.
var errShortProbe = errors.New("short read")
