package ab

import (
	"bytes"
	"hash/crc32"

	"ota-agent/platform/blockdev"
)

// Unchanged-block skipping (SkipUnchanged): each crcBlock-aligned block
// about to be written is first compared with what the slot holds, read
// ahead a window at a time with O_DIRECT; an equal block is not written
// (no flash wear, no write time) and needs no read-back, since it was just
// read from the medium. Probing backs off when blocks keep differing, so a
// wholly new image costs a few reads.
const (
	probeWindow = 1 << 20  // bytes read ahead per probe read
	probeMisses = 4        // differing blocks in a row before probing pauses
	probePause  = 8 << 20  // the first pause; it doubles up to maxPause
	maxPause    = 64 << 20 // and a block found equal resets it
)

// unchanged holds the probe state of one slot. It is used by the writer
// alone.
type unchanged struct {
	m        *mediumReader // O_DIRECT
	size     int64         // the slot's size
	win      []byte        // the slot's bytes [winOff, winOff+winN)
	winOff   int64
	winN     int
	misses   int
	pause    int64
	resumeAt int64 // no probing below this offset
	skipped  int64 // bytes not written because the slot held them
	probed   int64 // bytes read to compare
	failed   bool  // a probe read failed: write everything
}

func newUnchanged(m *mediumReader, size int64) *unchanged {
	return &unchanged{m: m, size: size, winOff: -1}
}

// same reports whether the slot already holds blk at off (a whole,
// aligned block).
func (u *unchanged) same(blk []byte, off int64) bool {
	if u.failed || off < u.resumeAt {
		return false
	}
	if off < u.winOff || off+int64(len(blk)) > u.winOff+int64(u.winN) {
		if !u.readWindow(off) {
			return false
		}
	}
	eq := bytes.Equal(u.win[off-u.winOff:][:len(blk)], blk)
	u.judge(eq, off+int64(len(blk)))
	return eq
}

// readWindow reads the window at off.
func (u *unchanged) readWindow(off int64) bool {
	if u.win == nil {
		u.win = blockdev.AlignedBuffer(probeWindow)
	}
	n := min(int64(probeWindow), u.size-off) &^ (blockdev.DirectAlign - 1)
	got, err := u.m.f.ReadAt(u.win[:n], off)
	u.probed += int64(got)
	if err != nil || int64(got) < n {
		u.failed = true
		return false
	}
	u.winOff, u.winN = off, got
	return true
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

// blockCRC is the CRC-32C of one block.
func blockCRC(blk []byte) uint32 { return crc32.Update(0, castagnoli, blk) }
