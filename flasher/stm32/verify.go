package stm32

import (
	"bytes"
	"context"
	"fmt"
	"time"
)

// verify checks the flash against the image by the configured mode.
func (f *flash) verify(ctx context.Context) error {
	switch f.opts.Verify {
	case VerifyNone:
		f.res.Verified = VerifyNone
		return nil
	case VerifyChecksum:
		if f.res.Info.Has(CmdGetChecksum) {
			return f.verifyChecksum(ctx)
		}
		f.log.Warn("bootloader does not list Get Checksum (0xA1); verifying by read-back", "device", f.res.Device.String())
	}
	return f.verifyReadback(ctx)
}

// verifyReadback reads every block back. A mismatch is read once more
// before it counts, since a corrupted byte on the line looks the same.
func (f *flash) verifyReadback(ctx context.Context) error {
	n := (len(f.data) + MaxBlock - 1) / MaxBlock
	got := make([]byte, MaxBlock)
	for i := 0; i < n; i++ {
		off := i * MaxBlock
		want := f.data[off:min(off+MaxBlock, len(f.data))]
		addr := f.opts.Address + uint32(off)
		what := fmt.Sprintf("verify block %d/%d at %#x", i+1, n, addr)
		buf := got[:len(want)]
		err := f.retry(ctx, what, func() error {
			if err := f.c.ReadMemory(ctx, addr, buf); err != nil {
				return err
			}
			if j := mismatch(buf, want); j >= 0 {
				return fmt.Errorf("%w at %#x: flash holds %#02x, image %#02x", ErrVerify, addr+uint32(j), buf[j], want[j])
			}
			return nil
		})
		if err != nil {
			return err
		}
		f.progress.Report(int64(len(f.data)+off+len(want)), f.total)
	}
	f.res.Verified = VerifyReadback
	return nil
}

func mismatch(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return len(a)
}

// verifyChecksum asks the bootloader for the CRC of the written range. On
// a mismatch it falls back to read-back, which finds the bad block (or
// shows that the CRC reply itself was corrupted on the line).
func (f *flash) verifyChecksum(ctx context.Context) error {
	want := CRC32(f.data)
	var got uint32
	compute := time.Duration(len(f.data)) * time.Microsecond // ~1 MB/s CRC unit, generous
	err := f.retry(ctx, "verify checksum", func() error {
		var err error
		got, err = f.c.GetChecksum(ctx, f.opts.Address, uint32(len(f.data)), compute)
		return err
	})
	if err != nil {
		return err
	}
	if got != want {
		f.log.Warn("stm32 checksum mismatch; verifying by read-back", "got", fmt.Sprintf("%#08x", got), "want", fmt.Sprintf("%#08x", want))
		return f.verifyReadback(ctx)
	}
	f.res.Verified = VerifyChecksum
	f.progress.Report(f.total, f.total)
	return nil
}
