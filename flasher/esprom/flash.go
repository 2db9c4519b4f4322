package esprom

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"ota-agent/flasher"
	"ota-agent/platform/serial"
)

// ROMBaud is the rate the ROM loader listens at after reset (ESP32 and
// later; it autobauds from SYNC).
const ROMBaud = 115200

// Timeouts, from esptool's loader.py defaults.
const (
	defaultTimeout   = 3 * time.Second
	syncTimeout      = 100 * time.Millisecond
	connectAttempts  = 7
	syncsPerAttempt  = 5
	blockAttempts    = 3
	eraseSecPerMB    = 30 // FLASH_BEGIN erases up front
	deflSecPerMB     = 40 // FLASH_DEFL_DATA: the ROM erases as it inflates
	md5SecPerMB      = 8
	writePasses      = 2 // a module that reset mid-way gets one more full pass
	defaultBlockSize = 0x400
	defaultFlashSize = 4 << 20
)

// Config says how to flash.
type Config struct {
	Chip      string                          // expected chip ("esp32"); empty accepts any known chip
	Offset    uint32                          // flash address of the image
	Baud      int                             // rate to switch to after SYNC; 0 or ROMBaud stays at 115200
	Plain     bool                            // do not try compressed writes
	BlockSize int                             // FLASH_DATA block size; 0 = 1 KiB (the ROM's)
	FlashSize uint32                          // for SPI_SET_PARAMS; 0 = 4 MiB
	Reset     func(ctx context.Context) error // puts the chip in download mode; nil = none available
	Trace     func(Op)                        // called for each request sent; for golden tests
	Timeout   time.Duration                   // per-command floor; 0 = 3 s as esptool (tests shorten it)
	Log       *slog.Logger
}

// Flasher writes images through the ROM loader on a port it does not own.
type Flasher struct {
	port serial.Port
	cfg  Config
	c    *conn
	log  *slog.Logger
	chip string
	baud int // the port's current rate
}

// New returns a Flasher on port, which must be open at ROMBaud.
func New(port serial.Port, cfg Config) *Flasher {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.BlockSize == 0 {
		cfg.BlockSize = defaultBlockSize
	}
	if cfg.FlashSize == 0 {
		cfg.FlashSize = defaultFlashSize
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultTimeout
	}
	c := newConn(port)
	c.trace = cfg.Trace
	return &Flasher{port: port, cfg: cfg, c: c, baud: ROMBaud, log: cfg.Log.With("component", "flasher/esprom", "port", port.String())}
}

// Chip returns the chip detected by Connect.
func (f *Flasher) Chip() string { return f.chip }

// Flash runs the whole job: connect, switch baud, write, verify by MD5 and
// run the new firmware. It returns only after the MD5 the ROM computed over
// the flash region equals the image's.
func (f *Flasher) Flash(ctx context.Context, img []byte, progress flasher.Progress) error {
	if err := f.Connect(ctx); err != nil {
		return err
	}
	if err := f.ChangeBaud(ctx); err != nil {
		return err
	}
	var err error
	for pass := 1; pass <= writePasses; pass++ {
		if err = f.Write(ctx, img, progress); err == nil {
			break
		}
		if ctx.Err() != nil || pass == writePasses || !errors.Is(err, ErrNoReply) {
			return err
		}
		f.log.Warn("write failed; resynchronising for another pass", "attempt", pass, "err", err)
		if rerr := f.recover(ctx); rerr != nil {
			return fmt.Errorf("%w; then resync: %w", err, rerr)
		}
	}
	if err != nil {
		return err
	}
	if err := f.Verify(ctx, img); err != nil {
		return err
	}
	return f.Run(ctx)
}

// recover brings a module that stopped answering (it stalled, reset, or
// lost the baud rate) back to a synced loader at the configured rate.
func (f *Flasher) recover(ctx context.Context) error {
	if f.baud != ROMBaud {
		// A loader that only stalled still listens at the high rate.
		for range syncsPerAttempt {
			if _, _, err := f.c.command(ctx, Request{Op: OpSync, Data: syncPayload}, syncTimeout); err == nil {
				f.settle(ctx)
				return nil
			}
		}
		if err := f.setBaud(ROMBaud); err != nil {
			return err
		}
	}
	if err := f.Connect(ctx); err != nil {
		return err
	}
	return f.ChangeBaud(ctx)
}

// Connect resets the chip into download mode when it can, synchronises with
// the ROM and identifies the chip by its magic register.
func (f *Flasher) Connect(ctx context.Context) error {
	if err := f.sync(ctx); err != nil {
		return err
	}
	// esptool asks first; the ESP32 ROM answers 01 05 and the magic decides.
	if _, _, err := f.c.command(ctx, Request{Op: OpGetSecInfo}, f.cfg.Timeout); err != nil {
		var re *ROMError
		if !errors.As(err, &re) {
			return fmt.Errorf("esprom %s: get security info: %w", f.port, err)
		}
	}
	magic, err := f.ReadReg(ctx, ChipMagicReg)
	if err != nil {
		return fmt.Errorf("esprom %s: detect chip: %w", f.port, err)
	}
	chip, ok := Chips[magic]
	if !ok {
		return fmt.Errorf("esprom %s: unknown chip magic %#08x at %#x; is this an Espressif ROM loader?", f.port, magic, ChipMagicReg)
	}
	if f.cfg.Chip != "" && !strings.EqualFold(chip, f.cfg.Chip) {
		return fmt.Errorf("esprom %s: chip is %s, configured chip = %q; check the port or the component's chip", f.port, chip, f.cfg.Chip)
	}
	f.chip = chip
	f.log.Info("connected", "chip", chip)
	return nil
}

func (f *Flasher) sync(ctx context.Context) error {
	for attempt := 1; attempt <= connectAttempts; attempt++ {
		if f.cfg.Reset != nil {
			if err := f.cfg.Reset(ctx); err != nil {
				return fmt.Errorf("esprom %s: reset into download mode: %w", f.port, err)
			}
		}
		for range syncsPerAttempt {
			_, _, err := f.c.command(ctx, Request{Op: OpSync, Data: syncPayload}, syncTimeout)
			if err == nil {
				f.settle(ctx)
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		f.log.Debug("no answer to SYNC", "attempt", attempt)
	}
	return fmt.Errorf("esprom %s: no answer to SYNC after %d attempts: %w; check that the module is in download mode (IO0 low at reset, EN/IO0 wiring or enter setting) and the baud rate", f.port, connectAttempts, ErrNoReply)
}

// syncReplies is how many replies the ROM sends to one SYNC.
const syncReplies = 8

// settle reads the ROM's other replies to the SYNC just answered, as
// esptool does, and stops at the last one instead of waiting for 50 ms of
// silence (which cost every connect 50 ms). A reply that comes later is
// skipped by command, which only takes a reply to the request it sent.
func (f *Flasher) settle(ctx context.Context) {
	for range syncReplies - 1 {
		if _, err := f.c.readPacket(ctx, 50*time.Millisecond); err != nil {
			return
		}
	}
}

// ReadReg returns the 32-bit register at addr.
func (f *Flasher) ReadReg(ctx context.Context, addr uint32) (uint32, error) {
	r, _, err := f.c.command(ctx, Request{Op: OpReadReg, Data: words(addr)}, f.cfg.Timeout)
	return r.Value, err
}

// ChangeBaud switches ROM and port to cfg.Baud and checks the link there.
// When the link fails at the new rate it falls back to 115200, resetting the
// chip if it no longer answers there, and goes on at 115200.
func (f *Flasher) ChangeBaud(ctx context.Context) error {
	to := f.cfg.Baud
	if to == 0 || to == ROMBaud {
		return nil
	}
	if _, _, err := f.c.command(ctx, Request{Op: OpChangeBaudrate, Data: words(uint32(to), 0)}, f.cfg.Timeout); err != nil {
		var re *ROMError
		if errors.As(err, &re) {
			f.log.Warn("ROM refused the baud change; staying at 115200", "baud", to, "err", err)
			return nil
		}
		return fmt.Errorf("esprom %s: change baud to %d: %w", f.port, to, err)
	}
	if err := f.setBaud(to); err != nil {
		return err
	}
	if err := sleep(ctx, 50*time.Millisecond); err != nil {
		return err
	}
	for range 3 {
		if _, err := f.ReadReg(ctx, ChipMagicReg); err == nil {
			f.log.Info("baud changed", "baud", to)
			return nil
		} else if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	f.log.Warn("link fails at the higher rate; falling back to 115200", "baud", to)
	if err := f.setBaud(ROMBaud); err != nil {
		return err
	}
	if _, err := f.ReadReg(ctx, ChipMagicReg); err == nil {
		return nil // the ROM never left 115200
	}
	if f.cfg.Reset == nil {
		return fmt.Errorf("esprom %s: link failed at %d baud and the ROM no longer answers at 115200; power-cycle the module into download mode or configure enter so it can be reset, and lower baud", f.port, to)
	}
	return f.Connect(ctx)
}

func (f *Flasher) setBaud(b int) error {
	if err := f.port.SetBaud(b); err != nil {
		return fmt.Errorf("esprom: switch %s to %d baud: %w", f.port, b, err)
	}
	f.baud = b
	return nil
}

// Write attaches the SPI flash and writes img at cfg.Offset, compressed
// unless cfg.Plain, the image does not deflate or the ROM lacks
// FLASH_DEFL_*.
func (f *Flasher) Write(ctx context.Context, img []byte, progress flasher.Progress) error {
	if _, _, err := f.c.command(ctx, Request{Op: OpSPIAttach, Data: words(0, 0)}, f.cfg.Timeout); err != nil {
		return fmt.Errorf("esprom %s: attach SPI flash: %w", f.port, err)
	}
	params := words(0, f.cfg.FlashSize, 64<<10, 4<<10, 256, 0xFFFF)
	if _, _, err := f.c.command(ctx, Request{Op: OpSPISetParams, Data: params}, f.cfg.Timeout); err != nil {
		return fmt.Errorf("esprom %s: set SPI flash parameters: %w", f.port, err)
	}
	if uint64(f.cfg.Offset)+uint64(len(img)) > uint64(f.cfg.FlashSize) {
		return fmt.Errorf("esprom %s: image of %d bytes at %#x does not fit %d bytes of flash", f.port, len(img), f.cfg.Offset, f.cfg.FlashSize)
	}
	if comp := f.deflate(img); comp != nil {
		err := f.writeDeflated(ctx, img, comp, progress)
		var re *ROMError
		if !errors.As(err, &re) || re.Op != OpFlashDeflBegin || re.Code != ErrCodeInvalidMessage {
			return err
		}
		f.log.Warn("ROM has no compressed writes; writing plain", "err", err)
	}
	return f.writePlain(ctx, img, progress)
}

// deflate returns img zlib-compressed, or nil when it is to go out plain:
// cfg.Plain, or compression would not save a block. The line time is per
// block (each costs its bytes plus a round trip), so an image that does
// not deflate (random, encrypted, already compressed) is faster plain, as
// esptool --no-stub sends it, by the extra block and the zlib framing.
func (f *Flasher) deflate(img []byte) []byte {
	if f.cfg.Plain {
		return nil
	}
	var zb bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&zb, zlib.BestCompression)
	zw.Write(img)
	zw.Close()
	bs := f.cfg.BlockSize
	if (zb.Len()+bs-1)/bs >= (len(img)+bs-1)/bs {
		f.log.Info("image does not deflate; writing plain", "bytes", len(img), "compressed", zb.Len())
		return nil
	}
	return zb.Bytes()
}

func (f *Flasher) writeDeflated(ctx context.Context, img, comp []byte, progress flasher.Progress) error {
	bs := f.cfg.BlockSize
	blocks := (len(comp) + bs - 1) / bs
	eraseSize := roundUp(len(img), bs) // the ROM erases whole blocks
	begin := words(uint32(eraseSize), uint32(blocks), uint32(bs), f.cfg.Offset)
	if f.chip != "esp32" {
		begin = append(begin, words(0)...) // encrypted flag on newer ROMs
	}
	if _, _, err := f.c.command(ctx, Request{Op: OpFlashDeflBegin, Data: begin}, f.perMB(eraseSecPerMB, eraseSize)); err != nil {
		return fmt.Errorf("esprom %s: begin compressed write of %d bytes at %#x: %w", f.port, len(img), f.cfg.Offset, err)
	}
	// Each block inflates to about this much, which the ROM erases and writes before it ACKs.
	perBlock := f.perMB(deflSecPerMB, (len(img)+blocks-1)/max(blocks, 1))
	for seq := range blocks {
		chunk := comp[seq*bs : min((seq+1)*bs, len(comp))]
		if err := f.block(ctx, OpFlashDeflData, seq, blocks, chunk, perBlock); err != nil {
			return err
		}
		progress.Report(int64(min((seq+1)*len(img)/blocks, len(img))), int64(len(img)))
	}
	return nil
}

func (f *Flasher) writePlain(ctx context.Context, img []byte, progress flasher.Progress) error {
	bs := f.cfg.BlockSize
	blocks := (len(img) + bs - 1) / bs
	begin := words(uint32(len(img)), uint32(blocks), uint32(bs), f.cfg.Offset)
	if f.chip != "esp32" {
		begin = append(begin, words(0)...)
	}
	if _, _, err := f.c.command(ctx, Request{Op: OpFlashBegin, Data: begin}, f.perMB(eraseSecPerMB, len(img))); err != nil {
		return fmt.Errorf("esprom %s: begin write of %d bytes at %#x (erase): %w", f.port, len(img), f.cfg.Offset, err)
	}
	buf := make([]byte, bs)
	for seq := range blocks {
		n := copy(buf, img[seq*bs:])
		for i := n; i < bs; i++ {
			buf[i] = 0xFF // esptool pads the last block with erased bytes
		}
		if err := f.block(ctx, OpFlashData, seq, blocks, buf, f.cfg.Timeout); err != nil {
			return err
		}
		progress.Report(int64(seq*bs+n), int64(len(img)))
	}
	return nil
}

// block sends one data block, retrying on a checksum error, a flash error or
// silence.
func (f *Flasher) block(ctx context.Context, op Op, seq, blocks int, data []byte, timeout time.Duration) error {
	req := Request{Op: op, Checksum: Checksum(data), Data: append(words(uint32(len(data)), uint32(seq), 0, 0), data...)}
	var err error
	for attempt := 1; attempt <= blockAttempts; attempt++ {
		if _, _, err = f.c.command(ctx, req, timeout); err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		f.log.Warn("block failed; retrying", "op", op.String(), "seq", seq, "attempt", attempt, "err", err)
	}
	return fmt.Errorf("esprom %s: write block %d/%d at %#x: %w after %d tries; check the wiring or lower baud",
		f.port, seq+1, blocks, f.cfg.Offset+uint32(seq*f.cfg.BlockSize), err, blockAttempts)
}

// Verify asks the ROM for the MD5 of the flash region and compares it with
// the image's.
func (f *Flasher) Verify(ctx context.Context, img []byte) error {
	want := md5.Sum(img)
	_, body, err := f.c.command(ctx, Request{Op: OpSPIFlashMD5, Data: words(f.cfg.Offset, uint32(len(img)), 0, 0)}, f.perMB(md5SecPerMB, len(img)))
	if err != nil {
		return fmt.Errorf("esprom %s: read MD5 of flash at %#x: %w", f.port, f.cfg.Offset, err)
	}
	var got []byte
	switch len(body) {
	case 32: // the ROM: ASCII hex
		if got, err = hex.DecodeString(string(body)); err != nil {
			return fmt.Errorf("esprom %s: MD5 reply %q is not hex", f.port, body)
		}
	case 16: // the stub: raw bytes
		got = body
	default:
		return fmt.Errorf("esprom %s: MD5 reply of %d bytes, want 32 hex characters", f.port, len(body))
	}
	if !bytes.Equal(got, want[:]) {
		return fmt.Errorf("esprom %s: verify %d bytes at %#x: flash MD5 %x, image MD5 %x; the flash holds a corrupt image: %w",
			f.port, len(img), f.cfg.Offset, got, want, ErrVerify)
	}
	f.log.Info("verified", "bytes", len(img), "md5", hex.EncodeToString(want[:]))
	return nil
}

// ErrVerify means the flash content differs from the image after writing.
var ErrVerify = errors.New("MD5 mismatch")

// Run leaves the loader and runs the new firmware, as esptool does for
// --after soft_reset: FLASH_BEGIN(0) then FLASH_END(run user code).
func (f *Flasher) Run(ctx context.Context) error {
	begin := words(0, 0, uint32(f.cfg.BlockSize), f.cfg.Offset)
	if f.chip != "esp32" {
		begin = append(begin, words(0)...)
	}
	if _, _, err := f.c.command(ctx, Request{Op: OpFlashBegin, Data: begin}, f.cfg.Timeout); err != nil {
		return fmt.Errorf("esprom %s: leave flash mode: %w", f.port, err)
	}
	if _, _, err := f.c.command(ctx, Request{Op: OpFlashEnd, Data: words(1)}, f.cfg.Timeout); err != nil {
		return fmt.Errorf("esprom %s: run user code: %w", f.port, err)
	}
	return nil
}

// perMB scales a timeout with the bytes an operation covers, as esptool's
// timeout_per_mb does, never below the command timeout.
func (f *Flasher) perMB(secPerMB int, size int) time.Duration {
	d := time.Duration(float64(secPerMB) * float64(size) / (1 << 20) * float64(time.Second))
	return max(d, f.cfg.Timeout)
}

func roundUp(n, to int) int { return (n + to - 1) / to * to }

func sleep(ctx context.Context, d time.Duration) error { return serial.Sleep(ctx, d) }
