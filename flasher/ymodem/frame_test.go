package ymodem_test

import (
	"errors"
	"os"
	"testing"

	"ota-agent/flasher/ymodem"
)

const sbCapture = "../../testdata/ymodem/sb-k-block0.bin" // lrzsz sb --ymodem -k, 3200-byte small.bin

func TestCRC16(t *testing.T) {
	if got := ymodem.CRC16([]byte("123456789")); got != 0x31C3 {
		t.Errorf("CRC16(123456789) = %#04x, want 0x31c3 (CRC-16/XMODEM check value)", got)
	}
}

func TestRealBlock0(t *testing.T) {
	frame, err := os.ReadFile(sbCapture)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := ymodem.DecodeFrame(frame)
	if err != nil {
		t.Fatalf("DecodeFrame(sb's block 0) = %v", err)
	}
	h, err := ymodem.ParseHeader(blk.Data)
	if err != nil || h != (ymodem.Header{Name: "small.bin", Size: 3200}) {
		t.Fatalf("ParseHeader(sb's block 0) = %+v, %v; want small.bin, 3200", h, err)
	}
	// Our encoding of the same name and size is a valid block 0 too.
	data, err := ymodem.AppendHeader(nil, h)
	if err != nil {
		t.Fatal(err)
	}
	ours := ymodem.AppendFrame(nil, 0, data, 0)
	if len(ours) != len(frame) || ours[0] != ymodem.SOH {
		t.Errorf("our block 0 is %d bytes starting %#x, want %d starting SOH", len(ours), ours[0], len(frame))
	}
}

func TestAppendFrameSizes(t *testing.T) {
	tests := []struct {
		n         int
		start     byte
		frameSize int
	}{{0, ymodem.SOH, 133}, {1, ymodem.SOH, 133}, {128, ymodem.SOH, 133}, {129, ymodem.STX, 1029}, {1024, ymodem.STX, 1029}, {2000, ymodem.STX, 1029}}
	for _, tt := range tests {
		f := ymodem.AppendFrame(nil, 7, image(tt.n), ymodem.CPMEOF)
		if f[0] != tt.start || len(f) != tt.frameSize {
			t.Errorf("AppendFrame(%d bytes) = start %#x, %d bytes; want %#x, %d", tt.n, f[0], len(f), tt.start, tt.frameSize)
		}
		if tt.n < 128 && f[3+tt.n] != ymodem.CPMEOF {
			t.Errorf("AppendFrame(%d bytes) pads with %#x, want 0x1a", tt.n, f[3+tt.n])
		}
	}
}

func TestDecodeFrameErrors(t *testing.T) {
	good := ymodem.AppendFrame(nil, 5, image(1024), 0)
	mod := func(f func([]byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := []struct {
		name  string
		frame []byte
		want  error
	}{
		{"empty", nil, ymodem.ErrFrameSize},
		{"start", mod(func(b []byte) []byte { b[0] = 'x'; return b }), ymodem.ErrFrameStart},
		{"short", good[:1028], ymodem.ErrFrameSize},
		{"seq", mod(func(b []byte) []byte { b[2] = 0; return b }), ymodem.ErrFrameSeq},
		{"crc", mod(func(b []byte) []byte { b[100] ^= 1; return b }), ymodem.ErrFrameCRC},
	}
	for _, tt := range tests {
		if _, err := ymodem.DecodeFrame(tt.frame); !errors.Is(err, tt.want) {
			t.Errorf("%s: DecodeFrame = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestHeaderErrors(t *testing.T) {
	for _, h := range []ymodem.Header{{Name: "a\x00b", Size: 1}, {Name: "a", Size: -1}, {Name: string(make([]byte, 1100)), Size: 1}} {
		if _, err := ymodem.AppendHeader(nil, h); !errors.Is(err, ymodem.ErrHeader) {
			t.Errorf("AppendHeader(%.20q, %d) = %v, want ErrHeader", h.Name, h.Size, err)
		}
	}
	for _, d := range []string{"fw.bin", "fw.bin\x00-5", "fw.bin\x0012x"} {
		if h, err := ymodem.ParseHeader([]byte(d)); !errors.Is(err, ymodem.ErrHeader) {
			t.Errorf("ParseHeader(%q) = %+v, %v; want ErrHeader", d, h, err)
		}
	}
}
