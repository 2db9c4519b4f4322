package esprom

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Op is a ROM loader command.
type Op byte

// ROM loader commands (serial-protocols.md §3.3).
const (
	OpFlashBegin     Op = 0x02
	OpFlashData      Op = 0x03
	OpFlashEnd       Op = 0x04
	OpMemBegin       Op = 0x05
	OpMemEnd         Op = 0x06
	OpMemData        Op = 0x07
	OpSync           Op = 0x08
	OpWriteReg       Op = 0x09
	OpReadReg        Op = 0x0A
	OpSPISetParams   Op = 0x0B
	OpSPIAttach      Op = 0x0D
	OpReadFlashSlow  Op = 0x0E // ROM only: 64 bytes per request
	OpChangeBaudrate Op = 0x0F
	OpFlashDeflBegin Op = 0x10
	OpFlashDeflData  Op = 0x11
	OpFlashDeflEnd   Op = 0x12
	OpSPIFlashMD5    Op = 0x13
	OpGetSecInfo     Op = 0x14
)

var opNames = map[Op]string{
	OpFlashBegin: "FLASH_BEGIN", OpFlashData: "FLASH_DATA", OpFlashEnd: "FLASH_END",
	OpMemBegin: "MEM_BEGIN", OpMemEnd: "MEM_END", OpMemData: "MEM_DATA", OpSync: "SYNC",
	OpWriteReg: "WRITE_REG", OpReadReg: "READ_REG", OpSPISetParams: "SPI_SET_PARAMS",
	OpSPIAttach: "SPI_ATTACH", OpReadFlashSlow: "READ_FLASH_SLOW", OpChangeBaudrate: "CHANGE_BAUDRATE",
	OpFlashDeflBegin: "FLASH_DEFL_BEGIN", OpFlashDeflData: "FLASH_DEFL_DATA",
	OpFlashDeflEnd: "FLASH_DEFL_END", OpSPIFlashMD5: "SPI_FLASH_MD5", OpGetSecInfo: "GET_SECURITY_INFO",
}

func (o Op) String() string {
	if n, ok := opNames[o]; ok {
		return n
	}
	return fmt.Sprintf("OP_%#02x", byte(o))
}

// ROM status error codes (the second status byte).
const (
	ErrCodeInvalidMessage = 0x05 // also the answer to an unknown command
	ErrCodeChecksum       = 0x07
	ErrCodeFlashWrite     = 0x08
	ErrCodeInflate        = 0x0b
)

// Chip magic values at ChipMagicReg, as esptool's targets list them.
const ChipMagicReg = 0x40001000

// Chips maps a chip magic value to its name.
var Chips = map[uint32]string{
	0x00F01D83: "esp32",
	0xFFF0C101: "esp8266",
	0x000007C6: "esp32s2",
	0x6921506F: "esp32c3",
	0x1B31506F: "esp32c3",
	0x09:       "esp32s3",
}

// ChecksumSeed starts the XOR checksum of FLASH_DATA, FLASH_DEFL_DATA and
// MEM_DATA payloads.
const ChecksumSeed = 0xEF

// Checksum is the ROM's data checksum: 0xEF XOR every byte.
func Checksum(data []byte) uint32 {
	c := byte(ChecksumSeed)
	for _, b := range data {
		c ^= b
	}
	return uint32(c)
}

// syncPayload is SYNC's data: 07 07 12 20 and 32 × 0x55.
var syncPayload = func() []byte {
	p := []byte{0x07, 0x07, 0x12, 0x20}
	for range 32 {
		p = append(p, 0x55)
	}
	return p
}()

// Request is a host → ROM command.
type Request struct {
	Op       Op
	Checksum uint32
	Data     []byte
}

// Encode returns the unframed request: 00, op, size (u16 LE), checksum (u32 LE), data.
func (r Request) Encode() []byte {
	b := make([]byte, 8, 8+len(r.Data))
	b[1] = byte(r.Op)
	binary.LittleEndian.PutUint16(b[2:], uint16(len(r.Data)))
	binary.LittleEndian.PutUint32(b[4:], r.Checksum)
	return append(b, r.Data...)
}

// ErrMalformed is a packet that does not follow the ROM's layout.
var ErrMalformed = errors.New("malformed packet")

// DecodeRequest parses an unframed request.
func DecodeRequest(p []byte) (Request, error) {
	if len(p) < 8 || p[0] != 0x00 {
		return Request{}, fmt.Errorf("request of %d bytes starting %x: %w", len(p), head(p), ErrMalformed)
	}
	n := int(binary.LittleEndian.Uint16(p[2:]))
	if len(p)-8 != n {
		return Request{}, fmt.Errorf("request %v says %d data bytes, has %d: %w", Op(p[1]), n, len(p)-8, ErrMalformed)
	}
	return Request{Op: Op(p[1]), Checksum: binary.LittleEndian.Uint32(p[4:]), Data: p[8:]}, nil
}

// Response is a ROM → host reply. Data includes the trailing status bytes.
type Response struct {
	Op    Op
	Value uint32
	Data  []byte
}

// Encode returns the unframed response: 01, op, size, value (u32 LE), data.
func (r Response) Encode() []byte {
	b := make([]byte, 8, 8+len(r.Data))
	b[0] = 0x01
	b[1] = byte(r.Op)
	binary.LittleEndian.PutUint16(b[2:], uint16(len(r.Data)))
	binary.LittleEndian.PutUint32(b[4:], r.Value)
	return append(b, r.Data...)
}

// DecodeResponse parses an unframed response.
func DecodeResponse(p []byte) (Response, error) {
	if len(p) < 8 || p[0] != 0x01 {
		return Response{}, fmt.Errorf("response of %d bytes starting %x: %w", len(p), head(p), ErrMalformed)
	}
	n := int(binary.LittleEndian.Uint16(p[2:]))
	if len(p)-8 != n {
		return Response{}, fmt.Errorf("response %v says %d data bytes, has %d: %w", Op(p[1]), n, len(p)-8, ErrMalformed)
	}
	return Response{Op: Op(p[1]), Value: binary.LittleEndian.Uint32(p[4:]), Data: p[8:]}, nil
}

// Status returns the status and error bytes of a reply, given how many status
// bytes the loader sends (4 for ESP32-and-later ROMs, 2 for the stub and the
// ESP8266 ROM).
func (r Response) Status(statusLen int) (status, code byte, body []byte, err error) {
	if len(r.Data) < statusLen {
		return 0, 0, nil, fmt.Errorf("%v reply has %d data bytes, want at least %d status bytes: %w", r.Op, len(r.Data), statusLen, ErrMalformed)
	}
	s := r.Data[len(r.Data)-statusLen:]
	return s[0], s[1], r.Data[:len(r.Data)-statusLen], nil
}

func words(v ...uint32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return b
}

func head(p []byte) []byte {
	if len(p) > 8 {
		return p[:8]
	}
	return p
}

// ROMError is a non-zero status from the ROM.
type ROMError struct {
	Op   Op
	Code byte
}

func (e *ROMError) Error() string {
	what := map[byte]string{
		ErrCodeInvalidMessage: "invalid message or unsupported command",
		ErrCodeChecksum:       "checksum error",
		ErrCodeFlashWrite:     "flash write error",
		ErrCodeInflate:        "inflate error",
	}[e.Code]
	if what == "" {
		what = "error"
	}
	return fmt.Sprintf("%v: ROM answered status 01 %02x (%s)", e.Op, e.Code, what)
}
