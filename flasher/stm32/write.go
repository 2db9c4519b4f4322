package stm32

import (
	"bytes"
	"context"
	"errors"
	"fmt"
)

// maxRepairs bounds how often write erases a page again.
const maxRepairs = 3

// write sends the image in 256-byte blocks. A block whose ACK was lost may
// have been programmed anyway: before writing it again, the block is read
// back, and a block that holds the data already counts as written. A block
// that holds neither the data nor erased flash (garbage that matched the
// frame checksum) costs one more erase of its page and a rewrite of the
// page's blocks. Blocks of 0xFF only (padding) are not sent: the erase
// already left them so, and verification reads them like any other.
func (f *flash) write(ctx context.Context) error {
	n := (len(f.data) + MaxBlock - 1) / MaxBlock
	repairs := 0
	for i := 0; i < n; i++ {
		var err error
		if off := i * MaxBlock; !erased(f.data[off:min(off+MaxBlock, len(f.data))]) {
			err = f.writeBlock(ctx, i, n) // all-0xFF blocks are what the erase left
		}
		if !errors.Is(err, errPartial) || repairs == maxRepairs {
			if err != nil {
				return err
			}
			f.progress.Report(int64(min((i+1)*MaxBlock, len(f.data))), f.total)
			continue
		}
		repairs++
		first, err := f.repairPage(ctx, i)
		if err != nil {
			return err
		}
		i = first - 1 // rewrite the page's blocks, then go on
	}
	return nil
}

// writeBlock writes block i of n with retries.
func (f *flash) writeBlock(ctx context.Context, i, n int) error {
	off := i * MaxBlock
	block := f.data[off:min(off+MaxBlock, len(f.data))]
	addr := f.opts.Address + uint32(off)
	first := true
	return f.retry(ctx, fmt.Sprintf("write block %d/%d at %#x", i+1, n, addr), func() error {
		if !first {
			if done, err := f.alreadyWritten(ctx, addr, block); done || err != nil {
				return err
			}
		}
		first = false
		return f.c.WriteMemory(ctx, addr, block, 4*f.res.Device.ProgramTyp)
	})
}

// repairPage erases the page that holds block i again and returns the
// first block in it.
func (f *flash) repairPage(ctx context.Context, i int) (int, error) {
	addr := f.opts.Address + uint32(i*MaxBlock)
	pages, err := f.res.Device.PagesFor(addr, 1)
	if err != nil {
		return 0, err
	}
	f.log.Warn("stm32 block holds garbage; erasing its page again", "attempt", i+1, "wait", pageList(pages))
	wait := f.eraseWait(pages)
	ext := f.res.Info.Has(CmdExtendedErase)
	if err := f.retry(ctx, "erase "+pageList(pages)+" again", func() error { return f.c.Erase(ctx, pages, ext, wait) }); err != nil {
		return 0, err
	}
	start := f.res.Device.PageStart(pages[0])
	if start < f.opts.Address {
		start = f.opts.Address
	}
	return int(start-f.opts.Address) / MaxBlock, nil
}

// errPartial means a block holds neither the image nor erased flash.
var errPartial = errors.New("block holds neither the image nor erased flash; run the update again (its pages are erased first)")

// alreadyWritten reads a block back after a failed write: true when it
// holds the data, false when it is still erased, an error otherwise.
func (f *flash) alreadyWritten(ctx context.Context, addr uint32, block []byte) (bool, error) {
	got, again := make([]byte, len(block)), make([]byte, len(block))
	if err := f.c.ReadMemory(ctx, addr, got); err != nil {
		return false, err
	}
	if !bytes.Equal(got, block) && !erased(got) {
		// Read once more: a byte corrupted on the way back looks the same.
		if err := f.c.ReadMemory(ctx, addr, again); err != nil {
			return false, err
		}
		if !bytes.Equal(got, again) {
			return false, fmt.Errorf("block read back differently twice: %w", ErrBadReply)
		}
	}
	if bytes.Equal(got, block) {
		f.log.Warn("stm32 block was programmed although its ACK was lost", "bytes", len(block))
		return true, nil
	}
	if !erased(got) {
		return false, errPartial
	}
	return false, nil
}

func erased(b []byte) bool {
	for _, c := range b {
		if c != 0xFF {
			return false
		}
	}
	return true
}
