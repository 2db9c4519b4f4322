package stm32

import (
	"errors"
	"fmt"
)

// Bytes with a meaning of their own on the wire.
const (
	Sync = 0x7F // auto-baud byte, sent once after reset
	ACK  = 0x79
	NACK = 0x1F
	Busy = 0x76 // some bootloaders send it while they erase; keep waiting
)

// Command codes (AN3155 §2).
const (
	CmdGet               = 0x00
	CmdGetVersion        = 0x01
	CmdGetID             = 0x02
	CmdReadMemory        = 0x11
	CmdGo                = 0x21
	CmdWriteMemory       = 0x31
	CmdErase             = 0x43
	CmdExtendedErase     = 0x44
	CmdWriteProtect      = 0x63
	CmdWriteUnprotect    = 0x73
	CmdReadoutProtect    = 0x82
	CmdReadoutUnprotect  = 0x92
	CmdGetChecksum       = 0xA1
	MaxBlock             = 256 // largest Read or Write Memory transfer
	massEraseExtended    = 0xFFFF
	maxExtendedErasePage = 0xFFF0 // page counts above this are special erases
)

// Sentinel errors callers can test with errors.Is.
var (
	// ErrNoAck means the bootloader answered NACK.
	ErrNoAck = errors.New("bootloader answered NACK")
	// ErrReadProtected means readout protection is active: the bootloader
	// refuses Read, Write and Go. Removing it mass-erases the chip, which
	// the agent never does on its own.
	ErrReadProtected = errors.New("readout protection is active")
	// ErrBadReply means a reply did not follow AN3155 (wrong byte, length
	// or checksum): usually a wrong baud rate, noise, or a part that is not
	// in its bootloader.
	ErrBadReply = errors.New("malformed bootloader reply")
	// ErrVerify means what the MCU holds differs from the image.
	ErrVerify = errors.New("verify mismatch")
)

// xor returns the XOR of all bytes.
func xor(b []byte) byte {
	var x byte
	for _, c := range b {
		x ^= c
	}
	return x
}

// EncodeCommand returns the two bytes that start command code.
func EncodeCommand(code byte) []byte { return []byte{code, ^code} }

// EncodeAddress returns a 32-bit address as sent after Read, Write, Go and
// Get Checksum: 4 bytes big endian and their XOR.
func EncodeAddress(addr uint32) []byte {
	b := []byte{byte(addr >> 24), byte(addr >> 16), byte(addr >> 8), byte(addr), 0}
	b[4] = xor(b[:4])
	return b
}

// DecodeAddress is the inverse of EncodeAddress.
func DecodeAddress(b []byte) (uint32, error) {
	if len(b) != 5 {
		return 0, fmt.Errorf("address frame of %d bytes, want 5: %w", len(b), ErrBadReply)
	}
	if xor(b[:4]) != b[4] {
		return 0, fmt.Errorf("address checksum %#02x, want %#02x: %w", b[4], xor(b[:4]), ErrBadReply)
	}
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), nil
}

// EncodeData returns a Write Memory data frame: N-1, the data, and the XOR
// of both. data must hold 1 to 256 bytes.
func EncodeData(data []byte) []byte {
	b := make([]byte, 0, len(data)+2)
	b = append(b, byte(len(data)-1))
	b = append(b, data...)
	return append(b, xor(b))
}

// EncodeErase returns the frame after an Erase (0x43) command for the given
// pages (at most 255, each below 256), or the mass-erase form for nil.
func EncodeErase(pages []int) []byte {
	if pages == nil {
		return []byte{0xFF, 0x00}
	}
	b := []byte{byte(len(pages) - 1)}
	for _, p := range pages {
		b = append(b, byte(p))
	}
	return append(b, xor(b))
}

// EncodeExtendedErase returns the frame after an Extended Erase (0x44)
// command: N-1 and N page numbers, 2 bytes each, MSB first, then the XOR;
// or the mass-erase form (0xFFFF) for nil.
func EncodeExtendedErase(pages []int) []byte {
	if pages == nil {
		return []byte{0xFF, 0xFF, 0x00}
	}
	n := len(pages) - 1
	b := []byte{byte(n >> 8), byte(n)}
	for _, p := range pages {
		b = append(b, byte(p>>8), byte(p))
	}
	return append(b, xor(b))
}

// Info is what Get, Get Version and Get ID tell about a bootloader.
type Info struct {
	Version  byte   // bootloader version, e.g. 0x22 = 2.2
	Commands []byte // command codes the bootloader lists in Get
	Option1  byte   // from Get Version (0 on most parts)
	Option2  byte
	PID      uint16 // product ID from Get ID, e.g. 0x410
}

// Has reports whether the bootloader listed command code.
func (in Info) Has(code byte) bool {
	for _, c := range in.Commands {
		if c == code {
			return true
		}
	}
	return false
}

// VersionString is the bootloader version as "2.2".
func (in Info) VersionString() string { return fmt.Sprintf("%d.%d", in.Version>>4, in.Version&0xF) }

// ParseGet parses the bytes Get returns between its two ACKs: N, the
// version, then N command codes. It requires Get, Get Version, Get ID, Read,
// Go, Write and exactly one of Erase or Extended Erase, as stm32flash does.
func ParseGet(b []byte) (version byte, cmds []byte, err error) {
	if len(b) < 2 {
		return 0, nil, fmt.Errorf("get: %d bytes, want at least 2: %w", len(b), ErrBadReply)
	}
	if int(b[0])+2 != len(b) {
		return 0, nil, fmt.Errorf("get: count byte says %d bytes follow, got %d: %w", int(b[0])+1, len(b)-1, ErrBadReply)
	}
	version, cmds = b[1], append([]byte(nil), b[2:]...)
	in := Info{Commands: cmds}
	for _, c := range []byte{CmdGet, CmdGetVersion, CmdGetID, CmdReadMemory, CmdGo, CmdWriteMemory} {
		if !in.Has(c) {
			return 0, nil, fmt.Errorf("get: command %#02x missing from %x: %w", c, cmds, ErrBadReply)
		}
	}
	if in.Has(CmdErase) == in.Has(CmdExtendedErase) {
		return 0, nil, fmt.Errorf("get: want exactly one of erase 0x43 and extended erase 0x44 in %x: %w", cmds, ErrBadReply)
	}
	return version, cmds, nil
}

// ParseGetID parses the bytes Get ID returns between its two ACKs: N (=1)
// and the PID, MSB first.
func ParseGetID(b []byte) (uint16, error) {
	if len(b) != 3 || b[0] != 1 {
		return 0, fmt.Errorf("get id: got % x, want 01 and a 2-byte product ID: %w", b, ErrBadReply)
	}
	return uint16(b[1])<<8 | uint16(b[2]), nil
}

// ParseChecksum parses the 5 bytes after Get Checksum's last ACK: a CRC-32
// MSB first and its XOR.
func ParseChecksum(b []byte) (uint32, error) {
	if len(b) != 5 {
		return 0, fmt.Errorf("get checksum: %d bytes, want 5: %w", len(b), ErrBadReply)
	}
	if xor(b[:4]) != b[4] {
		return 0, fmt.Errorf("get checksum: XOR %#02x, want %#02x: %w", b[4], xor(b[:4]), ErrBadReply)
	}
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), nil
}

// CRC32 computes the checksum Get Checksum returns: the STM32 CRC unit's
// CRC-32 (polynomial 0x04C11DB7, initial value 0xFFFFFFFF, no reflection,
// no final XOR) over little-endian 32-bit words. len(b) must be a multiple
// of 4; a shorter tail is ignored.
func CRC32(b []byte) uint32 {
	crc := uint32(0xFFFFFFFF)
	for ; len(b) >= 4; b = b[4:] {
		crc ^= uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
		for range 32 {
			if crc&0x80000000 != 0 {
				crc = crc<<1 ^ 0x04C11DB7
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

func errorsIsNack(err error) bool { return errors.Is(err, ErrNoAck) }

func isBadReply(err error) bool { return errors.Is(err, ErrBadReply) }
