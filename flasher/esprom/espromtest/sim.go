// Package espromtest simulates an ESP32 ROM serial loader on a pty, for
// tests, benchmarks, `ota-agent simulate esp` and the demo. It answers the
// commands a ROM-mode esptool session uses (serial-protocols.md §3.4): SYNC
// with 8 replies, GET_SECURITY_INFO with 01 05 (as the ESP32 ROM does),
// READ_REG/WRITE_REG (with the SPI flash controller and the eFuse and clock
// registers esptool reads: spi.go, chip.go), READ_FLASH_SLOW, SPI_ATTACH, SPI_SET_PARAMS, CHANGE_BAUDRATE,
// FLASH_BEGIN/DATA/END, FLASH_DEFL_BEGIN/DATA/END and SPI_FLASH_MD5 as ASCII
// hex; unknown commands get 01 05 and data checksum errors 01 07.
//
// esptool v4.8.1 in ROM mode (--no-stub) runs against it: flash_id, read_mac,
// chip_id, write_flash (plain, -z, after a baud change), verify_flash,
// read_flash; erase_region is refused by esptool itself in ROM mode. The
// exchanges are recorded in testdata/esptool-4.8.1 and replayed by
// TestEsptoolTranscripts.
//
// Bytes sent at a baud rate other than the one the ROM listens at become
// garbage in both directions: the simulator reads the host's rate back from
// the pty (TCGETS2) and compares it with its own. A line-rate model paces
// both directions, and seeded faults damage the exchange.
package espromtest

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"os"
	"sync"
	"time"

	"ota-agent/flasher/esprom"
	"ota-agent/platform/serial/serialtest"
)

// Faults are seeded, random damage to the exchange. Rates are probabilities
// per data block received.
type Faults struct {
	Seed        int64
	CorruptRate float64       // flip a byte of a data block (the ROM answers 01 07)
	DropRate    float64       // lose the reply to a data block
	StallRate   float64       // delay the reply to a data block by Stall
	Stall       time.Duration // how long a stall lasts
	ResetAtData int           // the module resets when this data block (1-based, counted over the session) arrives; 0 = never
	DeadAtData  int           // the module falls silent for good at this data block (a dead line); 0 = never
}

// Options configure the simulated chip.
type Options struct {
	Magic     uint32        // chip magic at 0x40001000; 0 = ESP32
	FlashSize int           // bytes; 0 = 4 MiB
	MaxBaud   int           // CHANGE_BAUDRATE above this is acknowledged but the ROM stays at its rate; 0 = no limit
	NoDeflate bool          // answer FLASH_DEFL_* with 01 05, like the ESP8266 ROM
	LineRate  bool          // pace bytes at the line's baud rate (8N1)
	Latency   time.Duration // turnaround before each reply
	EraseTime time.Duration // per 4 KiB sector erased
	WriteTime time.Duration // per 1 KiB written
	Faults    Faults
	Log       *slog.Logger
	Fatalf    func(format string, args ...any) // protocol violations; nil = log them
	// Transcript, if set, receives every request frame the simulator
	// decodes and every reply it sends, unframed, one hex line each: "> "
	// then the request, "< " then the reply (transcript.go). Written from
	// the serving goroutine.
	Transcript io.Writer
}

// Sim is one simulated chip. Flash and Ops are safe to call while it serves.
type Sim struct {
	opts  Options
	log   *slog.Logger
	rng   *rand.Rand
	mu    sync.Mutex
	flash []byte
	ops   []esprom.Op
	runs  int

	pty     *serialtest.Pty
	romBaud int
	synced  bool
	dead    bool
	regs    map[uint32]uint32
	spi     spiFlash
	w       *writeSession
	dataN   int
	shaper  serialtest.Shaper
	rxFree  time.Time
}

type writeSession struct {
	deflate   bool
	offset    int
	size      int
	blocks    int
	blockSize int
	next      int
	comp      bytes.Buffer
}

// New returns a simulated ESP32 with erased flash.
func New(opts Options) *Sim {
	if opts.Magic == 0 {
		opts.Magic = 0x00F01D83
	}
	if opts.FlashSize == 0 {
		opts.FlashSize = 4 << 20
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	s := &Sim{opts: opts, log: opts.Log.With("component", "espromtest"), rng: rand.New(rand.NewSource(opts.Faults.Seed)),
		flash: bytes.Repeat([]byte{0xFF}, opts.FlashSize), regs: map[uint32]uint32{}}
	s.reset()
	return s
}

func (s *Sim) reset() {
	s.romBaud = esprom.ROMBaud
	s.synced = false
	s.w = nil
}

// Flash returns a copy of n bytes of flash at off.
func (s *Sim) Flash(off, n int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.flash[off:off+n]...)
}

// Ops returns the commands received after the first SYNC, in order.
func (s *Sim) Ops() []esprom.Op {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]esprom.Op(nil), s.ops...)
}

// Runs counts FLASH_END requests to run user code.
func (s *Sim) Runs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runs
}

// ServePath creates a pty, links linkPath to its slave and serves on it
// until ctx is done; for `ota-agent simulate esp --pty PATH`.
func (s *Sim) ServePath(ctx context.Context, linkPath string) error {
	p, err := serialtest.Open(linkPath)
	if err != nil {
		return err
	}
	defer p.Close()
	return s.Serve(ctx, p)
}

// Serve answers the host on p until ctx is done. The host opens p.Path.
func (s *Sim) Serve(ctx context.Context, p *serialtest.Pty) error {
	s.pty = p
	s.shaper = serialtest.Shaper{Bits: 10}
	if s.opts.LineRate {
		s.shaper.Baud = func() int { return s.romBaud }
	}
	var dec esprom.SlipDecoder
	buf := make([]byte, 8192)
	for {
		if ctx.Err() != nil {
			return nil
		}
		p.Master.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := p.Master.Read(buf)
		if n > 0 {
			now := time.Now()
			in := buf[:n]
			if hostBaud := p.Baud(); hostBaud != 0 && hostBaud != s.romBaud {
				in = s.garble(in) // sent at a rate the ROM is not listening at
			}
			s.rxFree = later(s.rxFree, now).Add(time.Duration(n) * s.byteTime())
			var frames [][]byte
			dec.Feed(in, func(pk []byte, err error) {
				if err == nil {
					frames = append(frames, pk)
				}
			})
			for _, f := range frames {
				if err := s.handle(ctx, f); err != nil {
					return err
				}
			}
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			if errors.Is(err, os.ErrClosed) || errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("espromtest: read pty: %w", err)
		}
	}
}

func (s *Sim) byteTime() time.Duration {
	if !s.opts.LineRate {
		return 0
	}
	return serialtest.ByteTime(s.romBaud, 10)
}

func (s *Sim) garble(b []byte) []byte {
	g := make([]byte, len(b))
	for i := range g {
		g[i] = byte(s.rng.Intn(256)) &^ 0x40 // never a clean frame
	}
	return g
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (s *Sim) violation(format string, args ...any) {
	if s.opts.Fatalf != nil {
		s.opts.Fatalf(format, args...)
		return
	}
	s.log.Warn("protocol violation", "err", fmt.Sprintf(format, args...))
}

// reply sends one response with 4 status bytes, after the request has fully
// crossed the line and the turnaround latency.
func (s *Sim) reply(ctx context.Context, op esprom.Op, value uint32, body []byte, code byte) error {
	status := []byte{0, 0, 0, 0}
	if code != 0 {
		status = []byte{1, code, 0, 0}
	}
	raw := esprom.Response{Op: op, Value: value, Data: append(append([]byte(nil), body...), status...)}.Encode()
	pk := esprom.SlipEncode(raw)
	now := time.Now()
	at := now.Add(max(time.Until(s.rxFree), 0) + s.opts.Latency) // request fully received, then turnaround
	wait := at.Sub(now) + s.shaper.Delay(at, len(pk))            // then the reply crosses the line
	if wait > 0 {
		if err := sleep(ctx, wait); err != nil {
			return nil
		}
	}
	if hostBaud := s.pty.Baud(); hostBaud != 0 && hostBaud != s.romBaud {
		pk = s.garble(pk)
	}
	_, err := s.pty.Master.Write(pk)
	s.record('<', raw) // when the reply has crossed the line
	return err
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (s *Sim) handle(ctx context.Context, frame []byte) error {
	s.record('>', frame)
	req, err := esprom.DecodeRequest(frame)
	if err != nil {
		return nil // noise; the ROM ignores it
	}
	if s.dead {
		return nil
	}
	if req.Op == esprom.OpSync {
		return s.sync(ctx, req)
	}
	if !s.synced {
		return nil // the ROM has not locked on to the host yet
	}
	s.mu.Lock()
	s.ops = append(s.ops, req.Op)
	s.mu.Unlock()
	switch req.Op {
	case esprom.OpReadReg:
		return s.readReg(ctx, req)
	case esprom.OpWriteReg:
		if len(req.Data) < 8 {
			return s.reply(ctx, req.Op, 0, nil, esprom.ErrCodeInvalidMessage)
		}
		s.writeSPI(le(req.Data, 0), le(req.Data, 1))
		return s.reply(ctx, req.Op, 0, nil, 0)
	case esprom.OpSPIAttach, esprom.OpSPISetParams:
		return s.reply(ctx, req.Op, 0, nil, 0)
	case esprom.OpChangeBaudrate:
		return s.changeBaud(ctx, req)
	case esprom.OpFlashBegin, esprom.OpFlashDeflBegin:
		return s.begin(ctx, req)
	case esprom.OpFlashData, esprom.OpFlashDeflData:
		return s.data(ctx, req)
	case esprom.OpFlashEnd, esprom.OpFlashDeflEnd:
		return s.end(ctx, req)
	case esprom.OpSPIFlashMD5:
		return s.md5(ctx, req)
	case esprom.OpReadFlashSlow:
		return s.readFlashSlow(ctx, req)
	default: // GET_SECURITY_INFO on the ESP32 ROM, and anything unknown
		return s.reply(ctx, req.Op, 0, nil, esprom.ErrCodeInvalidMessage)
	}
}

func le(b []byte, i int) uint32 { return binary.LittleEndian.Uint32(b[4*i:]) }

func (s *Sim) sync(ctx context.Context, req esprom.Request) error {
	if len(req.Data) != 36 || !bytes.Equal(req.Data[:4], []byte{7, 7, 0x12, 0x20}) {
		return nil
	}
	s.synced = true
	for range 8 {
		if err := s.reply(ctx, esprom.OpSync, 0x20120707, nil, 0); err != nil {
			return err
		}
	}
	return nil
}

func (s *Sim) readReg(ctx context.Context, req esprom.Request) error {
	if len(req.Data) != 4 {
		return s.reply(ctx, req.Op, 0, nil, esprom.ErrCodeInvalidMessage)
	}
	addr := le(req.Data, 0)
	v, ok := s.chipReg(addr)
	switch {
	case addr == esprom.ChipMagicReg:
		v = s.opts.Magic
	case !ok:
		v = s.readSPI(addr) // or any other register written before
	}
	return s.reply(ctx, req.Op, v, nil, 0)
}

func (s *Sim) changeBaud(ctx context.Context, req esprom.Request) error {
	if len(req.Data) != 8 {
		return s.reply(ctx, req.Op, 0, nil, esprom.ErrCodeInvalidMessage)
	}
	to := int(le(req.Data, 0))
	if err := s.reply(ctx, req.Op, 0, nil, 0); err != nil { // acknowledged at the old rate
		return err
	}
	if to <= 0 || (s.opts.MaxBaud > 0 && to > s.opts.MaxBaud) {
		s.log.Info("baud change acknowledged but the link cannot run there", "baud", to)
		return nil
	}
	s.romBaud = to
	return nil
}

func (s *Sim) begin(ctx context.Context, req esprom.Request) error {
	deflate := req.Op == esprom.OpFlashDeflBegin
	if deflate && s.opts.NoDeflate {
		return s.reply(ctx, req.Op, 0, nil, esprom.ErrCodeInvalidMessage)
	}
	if len(req.Data) != 16 && len(req.Data) != 20 {
		s.violation("%v with %d data bytes, want 16 (ESP32 ROM) or 20", req.Op, len(req.Data))
		return s.reply(ctx, req.Op, 0, nil, esprom.ErrCodeInvalidMessage)
	}
	size, blocks, bs, off := int(le(req.Data, 0)), int(le(req.Data, 1)), int(le(req.Data, 2)), int(le(req.Data, 3))
	if off+size > len(s.flash) || bs <= 0 {
		return s.reply(ctx, req.Op, 0, nil, esprom.ErrCodeFlashWrite)
	}
	// The ROM erases the whole region up front, in 4 KiB sectors.
	start, end := off&^0xFFF, (off+size+0xFFF)&^0xFFF
	s.mu.Lock()
	for i := start; i < end && i < len(s.flash); i++ {
		s.flash[i] = 0xFF
	}
	s.mu.Unlock()
	if d := time.Duration((end-start)/4096) * s.opts.EraseTime; d > 0 {
		if err := sleep(ctx, d); err != nil {
			return nil
		}
	}
	s.w = &writeSession{deflate: deflate, offset: off, size: size, blocks: blocks, blockSize: bs}
	return s.reply(ctx, req.Op, 0, nil, 0)
}

func (s *Sim) data(ctx context.Context, req esprom.Request) error {
	s.dataN++
	f := s.opts.Faults
	if f.DeadAtData > 0 && s.dataN >= f.DeadAtData {
		s.synced = false
		s.dead = true
		return nil
	}
	if f.ResetAtData > 0 && s.dataN == f.ResetAtData {
		s.log.Info("fault: module reset mid-transfer", "block", s.dataN)
		s.reset()
		return nil
	}
	if len(req.Data) < 16 {
		return s.reply(ctx, req.Op, 0, nil, esprom.ErrCodeInvalidMessage)
	}
	n, seq := int(le(req.Data, 0)), int(le(req.Data, 1))
	payload := req.Data[16:]
	if f.CorruptRate > 0 && s.rng.Float64() < f.CorruptRate && len(payload) > 0 {
		payload = append([]byte(nil), payload...)
		payload[s.rng.Intn(len(payload))] ^= 0x10
	}
	if n != len(payload) {
		return s.reply(ctx, req.Op, 0, nil, esprom.ErrCodeInvalidMessage)
	}
	if esprom.Checksum(payload) != req.Checksum {
		return s.reply(ctx, req.Op, 0, nil, esprom.ErrCodeChecksum)
	}
	w := s.w
	deflate := req.Op == esprom.OpFlashDeflData
	if w == nil || w.deflate != deflate {
		s.violation("%v without a matching begin", req.Op)
		return s.reply(ctx, req.Op, 0, nil, esprom.ErrCodeInvalidMessage)
	}
	repeat := seq == w.next-1
	switch {
	case repeat:
		// A repeat of the block just written (our ACK was lost or late):
		// acknowledge without writing it twice.
	case seq != w.next || seq >= w.blocks:
		s.violation("%v seq %d, want %d of %d", req.Op, seq, w.next, w.blocks)
		return s.reply(ctx, req.Op, 0, nil, esprom.ErrCodeInvalidMessage)
	default:
		if code := s.apply(w, seq, payload); code != 0 {
			return s.reply(ctx, req.Op, 0, nil, code)
		}
		w.next++
	}
	if d := time.Duration((len(payload)+1023)/1024) * s.opts.WriteTime; d > 0 {
		if err := sleep(ctx, d); err != nil {
			return nil
		}
	}
	if repeat {
		return s.reply(ctx, req.Op, 0, nil, 0)
	}
	if f.DropRate > 0 && s.rng.Float64() < f.DropRate {
		s.log.Info("fault: reply dropped", "seq", seq)
		return nil
	}
	if f.StallRate > 0 && s.rng.Float64() < f.StallRate {
		s.log.Info("fault: stall", "seq", seq, "wait", f.Stall)
		if err := sleep(ctx, f.Stall); err != nil {
			return nil
		}
	}
	return s.reply(ctx, req.Op, 0, nil, 0)
}

// apply writes a block: plain blocks at once, compressed ones when the
// stream is complete (the real ROM inflates as it goes; the content ends the
// same).
func (s *Sim) apply(w *writeSession, seq int, payload []byte) byte {
	if !w.deflate {
		off := w.offset + seq*w.blockSize
		s.mu.Lock()
		defer s.mu.Unlock()
		if off+len(payload) > len(s.flash) {
			return esprom.ErrCodeFlashWrite
		}
		copy(s.flash[off:], payload)
		return 0
	}
	w.comp.Write(payload)
	if seq != w.blocks-1 {
		return 0
	}
	zr, err := zlib.NewReader(bytes.NewReader(w.comp.Bytes()))
	if err != nil {
		return esprom.ErrCodeInflate
	}
	out, err := io.ReadAll(io.LimitReader(zr, int64(w.size)+1))
	if err != nil || len(out) > w.size {
		return esprom.ErrCodeInflate
	}
	s.mu.Lock()
	copy(s.flash[w.offset:], out)
	s.mu.Unlock()
	return 0
}

func (s *Sim) end(ctx context.Context, req esprom.Request) error {
	run := req.Op == esprom.OpFlashEnd && len(req.Data) == 4 && le(req.Data, 0) == 1
	if run {
		s.mu.Lock()
		s.runs++
		s.mu.Unlock()
	}
	if err := s.reply(ctx, req.Op, 0, nil, 0); err != nil {
		return err
	}
	if run {
		s.log.Info("running user code")
		s.reset() // the firmware runs; the loader is gone until the next reset
	}
	return nil
}

func (s *Sim) md5(ctx context.Context, req esprom.Request) error {
	if len(req.Data) != 16 {
		return s.reply(ctx, req.Op, 0, nil, esprom.ErrCodeInvalidMessage)
	}
	off, n := int(le(req.Data, 0)), int(le(req.Data, 1))
	if off+n > len(s.flash) {
		return s.reply(ctx, req.Op, 0, nil, esprom.ErrCodeFlashWrite)
	}
	s.mu.Lock()
	sum := md5.Sum(s.flash[off : off+n])
	s.mu.Unlock()
	return s.reply(ctx, req.Op, 0, []byte(hex.EncodeToString(sum[:])), 0)
}
