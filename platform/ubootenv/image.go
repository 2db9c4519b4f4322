package ubootenv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// ErrBadCRC means a copy's stored CRC does not match its data area.
var ErrBadCRC = errors.New("bad CRC")

// ErrNoValidEnv means no copy of the environment has a valid CRC. U-Boot
// would boot its built-in default environment; the agent refuses to guess.
var ErrNoValidEnv = errors.New("no valid environment copy")

// Header sizes: CRC, plus the flag byte of a redundant copy.
const (
	singleHeader    = 4
	redundantHeader = 5
)

// Flag values of the Boolean scheme (include/env.h).
const (
	FlagObsolete byte = 0
	FlagActive   byte = 1
)

// FlagScheme says how the flag bytes of a redundant pair pick the active copy.
type FlagScheme int

const (
	// Incremental treats the flag as a serial number: the larger wins, 255
	// loses to 0 (wrap-around), copy 0 wins a tie. U-Boot uses it for MMC,
	// NAND, UBI, SPI flash, files and block devices.
	Incremental FlagScheme = iota
	// Boolean marks copies active (1) or obsolete (0); U-Boot uses it for
	// parallel NOR flash, where a written byte can later be cleared to 0.
	Boolean
)

// String returns "incremental" or "boolean".
func (s FlagScheme) String() string {
	if s == Boolean {
		return "boolean"
	}
	return "incremental"
}

// Copy is one decoded copy of the environment.
type Copy struct {
	Vars map[string]string
	Flag byte // redundant copies only
}

// EncodeCopy builds one copy of size bytes: CRC, the flag byte when
// redundant, then the data area padded with pad.
func EncodeCopy(vars map[string]string, size int, redundant bool, flag, pad byte) ([]byte, error) {
	hdr := headerLen(redundant)
	if size <= hdr+1 {
		return nil, fmt.Errorf("environment size %d is too small", size)
	}
	area, err := EncodeData(vars, size-hdr, pad)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, hdr, size)
	binary.LittleEndian.PutUint32(buf, crc32.ChecksumIEEE(area))
	if redundant {
		buf[4] = flag
	}
	return append(buf, area...), nil
}

// DecodeCopy checks the CRC of one copy and parses its data. A CRC mismatch
// wraps ErrBadCRC.
func DecodeCopy(buf []byte, redundant bool) (Copy, error) {
	hdr := headerLen(redundant)
	if len(buf) <= hdr {
		return Copy{}, fmt.Errorf("%w: copy of %d bytes has no data area", ErrBadCRC, len(buf))
	}
	area := buf[hdr:]
	stored := binary.LittleEndian.Uint32(buf)
	if got := crc32.ChecksumIEEE(area); got != stored {
		return Copy{}, fmt.Errorf("%w: stored %#08x, data gives %#08x", ErrBadCRC, stored, got)
	}
	vars, err := ParseData(area)
	if err != nil {
		return Copy{}, err
	}
	c := Copy{Vars: vars}
	if redundant {
		c.Flag = buf[4]
	}
	return c, nil
}

func headerLen(redundant bool) int {
	if redundant {
		return redundantHeader
	}
	return singleHeader
}

// Select returns the index (0 or 1) of the active copy of a redundant pair
// from the validity and flags of both copies, by U-Boot's rules
// (env_check_redund in env/common.c, env/flash.c for Boolean). It returns
// ErrNoValidEnv when neither copy is valid.
func Select(scheme FlagScheme, ok0, ok1 bool, f0, f1 byte) (int, error) {
	switch {
	case !ok0 && !ok1:
		return 0, ErrNoValidEnv
	case !ok1:
		return 0, nil
	case !ok0:
		return 1, nil
	case scheme == Boolean:
		return selectBoolean(f0, f1), nil
	}
	return selectIncremental(f0, f1), nil
}

func selectIncremental(f0, f1 byte) int {
	switch {
	case f0 == 255 && f1 == 0:
		return 1
	case f1 == 255 && f0 == 0:
		return 0
	case f1 > f0:
		return 1
	}
	return 0
}

func selectBoolean(f0, f1 byte) int {
	switch {
	case f0 == FlagActive && f1 == FlagObsolete:
		return 0
	case f0 == FlagObsolete && f1 == FlagActive:
		return 1
	case f0 == f1:
		return 0
	case f0 == 0xFF:
		return 0
	case f1 == 0xFF:
		return 1
	}
	return 0
}

// NextFlag returns the flag for the copy replacing one whose flag is cur:
// cur+1 (wrapping 255 to 0) for Incremental, FlagActive for Boolean.
func NextFlag(scheme FlagScheme, cur byte) byte {
	if scheme == Boolean {
		return FlagActive
	}
	return cur + 1
}
