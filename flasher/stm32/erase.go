package stm32

import (
	"context"
	"fmt"
	"time"
)

// maxErasePerCommand keeps one erase command, and so one wait, bounded.
const maxErasePerCommand = 32

// erase erases the pages the image covers, a few per command, with a
// timeout for each command that scales with what it erases.
func (f *flash) erase(ctx context.Context) error {
	d, pages := f.res.Device, f.res.Pages
	ext := f.res.Info.Has(CmdExtendedErase)
	for i := 0; i < len(pages); i += maxErasePerCommand {
		chunk := pages[i:min(i+maxErasePerCommand, len(pages))]
		wait := f.eraseWait(chunk)
		what := fmt.Sprintf("erase %s of %s (allowing %v)", pageList(chunk), d, wait.Round(time.Millisecond))
		err := f.retry(ctx, what, func() error { return f.c.Erase(ctx, chunk, ext, wait) })
		if err != nil {
			return err
		}
	}
	return nil
}

// eraseWait is twice the datasheet maximum for the pages plus a second:
// real parts vary, and a timeout that is too short turns a slow erase into
// a failed update.
func (f *flash) eraseWait(pages []int) time.Duration {
	var w time.Duration
	for _, p := range pages {
		_, max := f.res.Device.EraseTime(p)
		w += 2 * max
	}
	return w + time.Second
}
