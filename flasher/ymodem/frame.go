package ymodem

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Control bytes of the protocol.
const (
	SOH    = 0x01 // starts a 128-byte block
	STX    = 0x02 // starts a 1024-byte block
	EOT    = 0x04 // end of file
	ACK    = 0x06 // block accepted
	NAK    = 0x15 // block rejected
	CAN    = 0x18 // cancel (sent twice)
	CRC    = 'C'  // receiver asks for CRC-16 mode
	CPMEOF = 0x1A // CP/M end-of-file, pads the last data block
)

// Block sizes and frame overhead.
const (
	ShortBlock = 128  // data bytes after SOH
	LongBlock  = 1024 // data bytes after STX
	Overhead   = 5    // start, seq, ~seq, CRC hi, CRC lo
	MaxFrame   = LongBlock + Overhead
)

// Errors of the frame decoder; the receiver answers each with NAK.
var (
	ErrFrameStart = errors.New("frame does not start with SOH or STX")
	ErrFrameSize  = errors.New("frame length does not match its start byte")
	ErrFrameSeq   = errors.New("block number and its complement disagree")
	ErrFrameCRC   = errors.New("CRC-16 mismatch")
)

// CRC16 returns the CRC-16/XMODEM of b: polynomial 0x1021, initial value 0,
// not reflected (Python's binascii.crc_hqx(b, 0)). E.g. CRC16("123456789")
// = 0x31C3.
func CRC16(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc = crc<<8 ^ crcTable[byte(crc>>8)^c]
	}
	return crc
}

var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// AppendFrame appends one block to dst: SOH when len(data) ≤ 128, else STX.
// data shorter than the block is padded with pad (0x1A for file data, 0 for
// block 0). data longer than 1024 bytes is cut at 1024.
func AppendFrame(dst []byte, seq byte, data []byte, pad byte) []byte {
	start, n := byte(SOH), ShortBlock
	if len(data) > ShortBlock {
		start, n = STX, LongBlock
	}
	data = data[:min(len(data), n)]
	dst = append(dst, start, seq, ^seq)
	at := len(dst)
	dst = append(dst, data...)
	for range n - len(data) {
		dst = append(dst, pad)
	}
	crc := CRC16(dst[at:])
	return append(dst, byte(crc>>8), byte(crc))
}

// FrameLen returns the whole frame length for a start byte (133 or 1029),
// or 0 if start is neither SOH nor STX.
func FrameLen(start byte) int {
	switch start {
	case SOH:
		return ShortBlock + Overhead
	case STX:
		return LongBlock + Overhead
	}
	return 0
}

// Block is a decoded frame. Data aliases the frame.
type Block struct {
	Seq  byte
	Data []byte // 128 or 1024 bytes, padding included
}

// DecodeFrame checks and decodes one complete frame (start byte first). It
// never panics on any input.
func DecodeFrame(f []byte) (Block, error) {
	if len(f) == 0 {
		return Block{}, fmt.Errorf("decode frame: empty: %w", ErrFrameSize)
	}
	n := FrameLen(f[0])
	if n == 0 {
		return Block{}, fmt.Errorf("decode frame: start byte %#02x: %w", f[0], ErrFrameStart)
	}
	if len(f) != n {
		return Block{}, fmt.Errorf("decode frame: got %d bytes, want %d: %w", len(f), n, ErrFrameSize)
	}
	if f[1] != ^f[2] {
		return Block{}, fmt.Errorf("decode frame: seq %#02x, complement %#02x: %w", f[1], f[2], ErrFrameSeq)
	}
	data := f[3 : n-2]
	got, want := CRC16(data), uint16(f[n-2])<<8|uint16(f[n-1])
	if got != want {
		return Block{}, fmt.Errorf("decode frame %d: computed %#04x, frame says %#04x: %w", f[1], got, want, ErrFrameCRC)
	}
	return Block{Seq: f[1], Data: data}, nil
}

// Header is what block 0 carries. The zero Header (empty name) ends a batch.
type Header struct {
	Name string
	Size int64 // bytes; -1 when block 0 gives no size
}

// ErrHeader means block 0 could not be parsed.
var ErrHeader = errors.New("bad YMODEM block 0")

// End reports whether h is the empty block 0 that ends a batch.
func (h Header) End() bool { return h.Name == "" }

// AppendHeader appends the block-0 payload "name\x00size" to dst. It fails
// when the name holds a NUL or the payload does not fit in 1024 bytes.
func AppendHeader(dst []byte, h Header) ([]byte, error) {
	if strings.IndexByte(h.Name, 0) >= 0 {
		return dst, fmt.Errorf("block 0: file name %q holds a NUL byte: %w", h.Name, ErrHeader)
	}
	if h.Size < 0 {
		return dst, fmt.Errorf("block 0: size %d: want 0 or more: %w", h.Size, ErrHeader)
	}
	n := len(h.Name) + 1 + len(strconv.FormatInt(h.Size, 10))
	if n > LongBlock {
		return dst, fmt.Errorf("block 0: name of %d bytes does not fit in a block; shorten it: %w", len(h.Name), ErrHeader)
	}
	if h.Name == "" {
		return dst, nil
	}
	dst = append(dst, h.Name...)
	dst = append(dst, 0)
	return strconv.AppendInt(dst, h.Size, 10), nil
}

// ParseHeader parses a block-0 payload by its delimiters: the name up to
// NUL, then the decimal size up to a space or NUL; the optional fields lrzsz
// adds (mtime, mode, ...) and the block-count hint it writes into the last
// two bytes are ignored. An empty name ends the batch.
func ParseHeader(data []byte) (Header, error) {
	if len(data) == 0 || data[0] == 0 {
		return Header{}, nil
	}
	nul := strings.IndexByte(string(data), 0)
	if nul < 0 {
		return Header{}, fmt.Errorf("block 0: no NUL after the file name: %w", ErrHeader)
	}
	h := Header{Name: string(data[:nul]), Size: -1}
	rest := data[nul+1:]
	end := 0
	for end < len(rest) && rest[end] != ' ' && rest[end] != 0 {
		end++
	}
	if end == 0 {
		return h, nil
	}
	size, err := strconv.ParseInt(string(rest[:end]), 10, 64)
	if err != nil || size < 0 {
		return Header{}, fmt.Errorf("block 0 for %q: size %q: want a decimal byte count: %w", h.Name, rest[:end], ErrHeader)
	}
	h.Size = size
	return h, nil
}
