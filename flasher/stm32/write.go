package stm32

import (
	"bytes"
	"context"
	"errors"
	"fmt"
)

// write sends the image in 256-byte blocks. A block whose ACK was lost may
// have been programmed anyway: before writing it again, the block is read
// back, and a block that holds the data already counts as written.
func (f *flash) write(ctx context.Context) error {
	n := (len(f.data) + MaxBlock - 1) / MaxBlock
	prog := 4 * f.res.Device.ProgramTyp
	for i := 0; i < n; i++ {
		off := i * MaxBlock
		block := f.data[off:min(off+MaxBlock, len(f.data))]
		addr := f.opts.Address + uint32(off)
		what := fmt.Sprintf("write block %d/%d at %#x", i+1, n, addr)
		first := true
		err := f.retry(ctx, what, func() error {
			if !first {
				if done, err := f.alreadyWritten(ctx, addr, block); done || err != nil {
					return err
				}
			}
			first = false
			return f.c.WriteMemory(ctx, addr, block, prog)
		})
		if err != nil {
			return err
		}
		f.progress.Report(int64(off+len(block)), f.total)
	}
	return nil
}

// errPartial means a block holds neither the image nor erased flash.
var errPartial = errors.New("block holds neither the image nor erased flash")

// alreadyWritten reads a block back after a failed write: true when it
// holds the data, false when it is still erased, an error otherwise.
func (f *flash) alreadyWritten(ctx context.Context, addr uint32, block []byte) (bool, error) {
	got := make([]byte, len(block))
	if err := f.c.ReadMemory(ctx, addr, got); err != nil {
		return false, err
	}
	if bytes.Equal(got, block) {
		f.log.Warn("stm32 block was programmed although its ACK was lost", "bytes", len(block))
		return true, nil
	}
	for _, b := range got {
		if b != 0xFF {
			return false, fmt.Errorf("%w; run the update again (its pages are erased first)", errPartial)
		}
	}
	return false, nil
}
