package stm32

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"ota-agent/flasher"
)

// Verify says how Flash checks what it wrote.
type Verify string

// Verify modes (config key verify; persisted, never renamed).
const (
	VerifyReadback Verify = "readback" // read every block back and compare
	VerifyChecksum Verify = "checksum" // Get Checksum (0xA1) when listed, else read-back
	VerifyNone     Verify = "none"     // trust the ACKs
)

// ParseVerify parses a verify setting; "" means readback.
func ParseVerify(s string) (Verify, error) {
	switch v := Verify(s); v {
	case "":
		return VerifyReadback, nil
	case VerifyReadback, VerifyChecksum, VerifyNone:
		return v, nil
	}
	return "", fmt.Errorf("verify %q: want readback, checksum or none", s)
}

// DefaultRetries is how many times one block, erase or read is tried.
const DefaultRetries = 5

// Options steer Flash.
type Options struct {
	Address uint32 // where the image goes; 0 = start of flash
	Verify  Verify // "" = readback
	Retries int    // tries per operation; 0 = DefaultRetries
	Log     *slog.Logger
}

// Result says what Flash found and did.
type Result struct {
	Info     Info
	Device   Device
	Pages    []int  // erase units erased
	Verified Verify // how the image was verified (none if not)
}

// Flash programs size bytes from img at opts.Address through c: sync,
// identify, refuse a read-protected part, erase the pages the image covers,
// write 256-byte blocks with retries, verify. It does not start the
// application (see Conn.Go). progress counts written and then verified
// bytes out of size (twice size when verifying by read-back).
func Flash(ctx context.Context, c *Conn, img io.ReaderAt, size int64, opts Options, progress flasher.Progress) (Result, error) {
	f := &flash{c: c, opts: opts, progress: progress, log: opts.Log}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	if f.opts.Retries <= 0 {
		f.opts.Retries = DefaultRetries
	}
	v, err := ParseVerify(string(opts.Verify))
	if err != nil {
		return Result{}, err
	}
	f.opts.Verify = v
	return f.run(ctx, img, size)
}

type flash struct {
	c        *Conn
	opts     Options
	progress flasher.Progress
	log      *slog.Logger
	res      Result
	data     []byte // the image padded to a multiple of 4 with 0xFF
	total    int64  // progress total
}

func (f *flash) run(ctx context.Context, img io.ReaderAt, size int64) (Result, error) {
	if err := f.identify(ctx); err != nil {
		return f.res, err
	}
	if err := f.load(img, size); err != nil {
		return f.res, err
	}
	if err := f.checkProtection(ctx); err != nil {
		return f.res, err
	}
	steps := []struct {
		name string
		do   func(context.Context) error
	}{{"erase", f.erase}, {"write", f.write}, {"verify", f.verify}}
	for _, s := range steps {
		start := time.Now()
		if err := s.do(ctx); err != nil {
			return f.res, err
		}
		f.log.Info("stm32 step done", "state", s.name, "bytes", len(f.data), "wait", time.Since(start).Round(time.Millisecond))
	}
	return f.res, nil
}

// identify syncs and reads Get, Get Version and Get ID.
func (f *flash) identify(ctx context.Context) error {
	if err := f.c.Sync(ctx); err != nil {
		return err
	}
	in := &f.res.Info
	err := f.retry(ctx, "identify", func() (err error) {
		if in.Version, in.Commands, err = f.c.Get(ctx); err != nil {
			return err
		}
		if _, in.Option1, in.Option2, err = f.c.GetVersion(ctx); err != nil {
			return err
		}
		in.PID, err = f.c.GetID(ctx)
		return err
	})
	if err != nil {
		return err
	}
	if f.res.Device, err = LookupDevice(in.PID); err != nil {
		return fmt.Errorf("get id: %w", err)
	}
	f.log.Info("stm32 bootloader found", "device", f.res.Device.String(), "version", in.VersionString())
	return nil
}

// load reads the image and checks that it fits at a page boundary.
func (f *flash) load(img io.ReaderAt, size int64) error {
	d := f.res.Device
	if f.opts.Address == 0 {
		f.opts.Address = d.FlashStart
	}
	if size <= 0 {
		return fmt.Errorf("image of %d bytes: nothing to flash", size)
	}
	pages, err := d.PagesFor(f.opts.Address, uint32(min(size, 1<<32-1)))
	if err != nil || size > int64(d.FlashEnd-d.FlashStart) {
		return fmt.Errorf("image of %d bytes at %#x does not fit %s: %v", size, f.opts.Address, d, err)
	}
	if d.PageStart(pages[0]) != f.opts.Address {
		return fmt.Errorf("address %#x is not the start of an erase unit (page %d starts at %#x): erasing it would destroy the bytes before the image", f.opts.Address, pages[0], d.PageStart(pages[0]))
	}
	f.res.Pages = pages
	f.data = make([]byte, (size+3)/4*4)
	for i := size; i < int64(len(f.data)); i++ {
		f.data[i] = 0xFF
	}
	if n, err := img.ReadAt(f.data[:size], 0); int64(n) != size {
		return fmt.Errorf("read image: got %d of %d bytes: %w", n, size, err)
	}
	f.total = int64(len(f.data))
	if f.opts.Verify == VerifyReadback || (f.opts.Verify == VerifyChecksum && !f.res.Info.Has(CmdGetChecksum)) {
		f.total *= 2
	}
	return nil
}

// checkProtection reads one word: a NACK to Read Memory means readout
// protection, which only a mass erase removes. The agent never does that on
// its own.
func (f *flash) checkProtection(ctx context.Context) error {
	var b [4]byte
	err := f.retry(ctx, "check readout protection", func() error { return f.c.ReadMemory(ctx, f.opts.Address, b[:]) })
	var refused *RefusedError
	if errors.As(err, &refused) && refused.Code == CmdReadMemory {
		return fmt.Errorf("%w on %s: the bootloader refuses to read or write flash; removing it (Readout Unprotect, stm32flash -k) mass-erases the whole chip, so do it by hand if that is intended", ErrReadProtected, f.res.Device)
	}
	return err
}
