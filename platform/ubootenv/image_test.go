package ubootenv_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"ota-agent/platform/ubootenv"
)

var raucVars = map[string]string{"BOOT_ORDER": "A B", "BOOT_A_LEFT": "3", "BOOT_B_LEFT": "3"}

// TestGoldenVectors checks the CRCs of reference §2.4 (confirmed there
// against mkenvimage and zlib) and the mkenvimage captures in testdata.
func TestGoldenVectors(t *testing.T) {
	tests := []struct {
		name      string
		redundant bool
		pad       byte
		crc       uint32
		capture   string
	}{
		{"single 0x00", false, 0x00, 0xc0d8c1ad, "mk_single_00.bin"},
		{"single 0xff", false, 0xff, 0x81cb1380, "mk_single_ff.bin"},
		{"redundant 0x00", true, 0x00, 0x6dc77059, "mk_redund_00.bin"},
		{"redundant 0xff", true, 0xff, 0x7a6f3d0d, "mk_redund_ff.bin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The reference's data, in mkenvimage's (input) order.
			hdr := 4
			if tt.redundant {
				hdr = 5
			}
			area := bytes.Repeat([]byte{tt.pad}, 0x4000-hdr)
			copy(area, "BOOT_ORDER=A B\x00BOOT_A_LEFT=3\x00BOOT_B_LEFT=3\x00\x00")
			if got := crc32IEEE(area); got != tt.crc {
				t.Errorf("crc = %#08x, want %#08x", got, tt.crc)
			}
			capture, err := os.ReadFile(filepath.Join("..", "..", "testdata", "ubootenv", tt.capture))
			if err != nil {
				t.Fatal(err)
			}
			if got := binary.LittleEndian.Uint32(capture); got != tt.crc {
				t.Errorf("%s crc = %#08x, want %#08x", tt.capture, got, tt.crc)
			}
			if !bytes.Equal(capture[hdr:], area) {
				t.Errorf("%s data differs from the reference", tt.capture)
			}
			// Ours sorts, so its bytes differ, but it must decode the same.
			ours, err := ubootenv.EncodeCopy(raucVars, 0x4000, tt.redundant, 1, tt.pad)
			if err != nil {
				t.Fatal(err)
			}
			if c, err := ubootenv.DecodeCopy(ours, tt.redundant); err != nil || !cmp.Equal(c.Vars, raucVars) || (tt.redundant && c.Flag != 1) {
				t.Errorf("our copy decodes to %v flag %d, %v", c.Vars, c.Flag, err)
			}
			c, err := ubootenv.DecodeCopy(capture, tt.redundant)
			if err != nil {
				t.Fatalf("decode %s: %v", tt.capture, err)
			}
			if diff := cmp.Diff(raucVars, c.Vars); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.capture, diff)
			}
		})
	}
}

func TestEmptyEnv(t *testing.T) {
	buf, err := ubootenv.EncodeCopy(nil, 0x4000, false, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.LittleEndian.Uint32(buf); got != 0x36aefd86 {
		t.Errorf("crc = %#08x, want 0x36aefd86", got)
	}
	c, err := ubootenv.DecodeCopy(buf, false)
	if err != nil || len(c.Vars) != 0 {
		t.Errorf("DecodeCopy(empty) = %v, %v; want no vars", c.Vars, err)
	}
}

func TestDecodeBad(t *testing.T) {
	good, _ := ubootenv.EncodeCopy(raucVars, 64, false, 0, 0xff)
	flip := bytes.Clone(good)
	flip[10] ^= 1
	tests := []struct {
		name string
		buf  []byte
		want error
	}{
		{"flipped byte", flip, ubootenv.ErrBadCRC},
		{"too short", []byte{1, 2, 3}, ubootenv.ErrBadCRC},
		{"all zero", make([]byte, 64), ubootenv.ErrBadCRC},
		{"no terminator", withCRC(bytes.Repeat([]byte("a=b"), 20)), nil},
		{"no equals", withCRC(append([]byte("novalue\x00\x00"), make([]byte, 40)...)), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ubootenv.DecodeCopy(tt.buf, false)
			if err == nil {
				t.Fatal("DecodeCopy succeeded, want an error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("DecodeCopy = %v, want %v", err, tt.want)
			}
		})
	}
}

func withCRC(area []byte) []byte {
	buf := make([]byte, 4, 4+len(area))
	binary.LittleEndian.PutUint32(buf, crc32IEEE(area))
	return append(buf, area...)
}

func TestEncodeBad(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
	}{
		{"equals in name", map[string]string{"a=b": "c"}},
		{"empty name", map[string]string{"": "c"}},
		{"nul in value", map[string]string{"a": "b\x00c"}},
		{"too large", map[string]string{"a": string(bytes.Repeat([]byte("x"), 100))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ubootenv.EncodeCopy(tt.vars, 64, true, 1, 0); err == nil {
				t.Error("EncodeCopy succeeded, want an error")
			}
		})
	}
}

func TestSelect(t *testing.T) {
	tests := []struct {
		name     string
		scheme   ubootenv.FlagScheme
		ok0, ok1 bool
		f0, f1   byte
		want     int
	}{
		{"inc larger 1", ubootenv.Incremental, true, true, 7, 8, 1},
		{"inc larger 0", ubootenv.Incremental, true, true, 9, 8, 0},
		{"inc tie", ubootenv.Incremental, true, true, 5, 5, 0},
		{"inc wrap to 1", ubootenv.Incremental, true, true, 0xff, 0, 1},
		{"inc wrap to 0", ubootenv.Incremental, true, true, 0, 0xff, 0},
		{"inc only 1 valid", ubootenv.Incremental, false, true, 9, 1, 1},
		{"inc only 0 valid", ubootenv.Incremental, true, false, 1, 9, 0},
		{"bool active/obsolete", ubootenv.Boolean, true, true, 1, 0, 0},
		{"bool obsolete/active", ubootenv.Boolean, true, true, 0, 1, 1},
		{"bool equal", ubootenv.Boolean, true, true, 0xff, 0xff, 0},
		{"bool erased 0", ubootenv.Boolean, true, true, 0xff, 1, 0},
		{"bool erased 1", ubootenv.Boolean, true, true, 1, 0xff, 1},
		{"bool bit flip", ubootenv.Boolean, true, true, 3, 5, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ubootenv.Select(tt.scheme, tt.ok0, tt.ok1, tt.f0, tt.f1)
			if err != nil || got != tt.want {
				t.Errorf("Select(%v, %v, %v, %#x, %#x) = %d, %v; want %d", tt.scheme, tt.ok0, tt.ok1, tt.f0, tt.f1, got, err, tt.want)
			}
			if tt.scheme == ubootenv.Incremental && tt.ok0 && tt.ok1 && tt.f0 != tt.f1 {
				// Property: swapping the copies swaps the answer.
				if sw, _ := ubootenv.Select(tt.scheme, true, true, tt.f1, tt.f0); sw != 1-got {
					t.Errorf("swapped Select = %d, want %d", sw, 1-got)
				}
			}
		})
	}
	if _, err := ubootenv.Select(ubootenv.Incremental, false, false, 1, 2); !errors.Is(err, ubootenv.ErrNoValidEnv) {
		t.Errorf("Select(both bad) = %v, want ErrNoValidEnv", err)
	}
	// Property: the next flag always wins over the one it replaces.
	for f := 0; f < 256; f++ {
		next := ubootenv.NextFlag(ubootenv.Incremental, byte(f))
		if got, _ := ubootenv.Select(ubootenv.Incremental, true, true, byte(f), next); got != 1 {
			t.Errorf("flags %#x then %#x: Select = %d, want the newer copy 1", f, next, got)
		}
	}
}
