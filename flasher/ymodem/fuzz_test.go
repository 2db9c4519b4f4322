package ymodem_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"ota-agent/flasher/ymodem"
)

// sbBlock0 is block 0 as lrzsz sb -k sent it for a 3000-byte file
// (reference/serial-protocols.md §2.1): name, size, mtime, mode, serial,
// files and bytes left, then the block-count hint in bytes 126-127.
func sbBlock0() []byte {
	d := make([]byte, 128)
	copy(d, "small.bin\x003000 15300614457 100644 0 1 3000")
	d[127] = (3000 + 127) >> 7
	return d
}

func FuzzDecodeFrame(f *testing.F) {
	f.Add(ymodem.AppendFrame(nil, 0, sbBlock0(), 0))
	if real, err := os.ReadFile(sbCapture); err == nil {
		f.Add(real)
	}
	f.Add(ymodem.AppendFrame(nil, 1, image(1024), ymodem.CPMEOF))
	f.Add(ymodem.AppendFrame(nil, 3, image(100), ymodem.CPMEOF))
	f.Add(ymodem.AppendFrame(nil, 0, nil, 0))
	f.Add([]byte{ymodem.STX, 1, 0xfe})
	f.Add([]byte{ymodem.EOT})
	f.Fuzz(func(t *testing.T, frame []byte) {
		blk, err := ymodem.DecodeFrame(frame)
		if err != nil {
			return
		}
		again := ymodem.AppendFrame(nil, blk.Seq, blk.Data, 0)
		if !bytes.Equal(again, frame) {
			t.Fatalf("DecodeFrame then AppendFrame changed the frame:\n got %x\nwant %x", again, frame)
		}
		if _, err := ymodem.ParseHeader(blk.Data); err != nil && !errors.Is(err, ymodem.ErrHeader) {
			t.Fatalf("ParseHeader error %v does not wrap ErrHeader", err)
		}
	})
}

func FuzzParseHeader(f *testing.F) {
	f.Add(sbBlock0())
	f.Add([]byte("fw.bin\x00123"))
	f.Add([]byte("fw.bin\x00"))
	f.Add([]byte("fw.bin\x000x400 0"))
	f.Add(make([]byte, 128))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ymodem.ParseHeader(data)
		if err != nil || h.End() || h.Size < 0 {
			return
		}
		enc, err := ymodem.AppendHeader(nil, h)
		if err != nil {
			return // a name too long to re-encode in one block
		}
		h2, err := ymodem.ParseHeader(enc)
		if err != nil || h2 != h {
			t.Fatalf("ParseHeader(AppendHeader(%+v)) = %+v, %v", h, h2, err)
		}
	})
}

// scriptPort replays a receiver's replies from fuzz data and records what
// the sender writes. Past the script every read times out at once.
type scriptPort struct {
	replies []byte
	written [][]byte
}

func (p *scriptPort) Read(b []byte) (int, error) {
	if len(p.replies) == 0 {
		return 0, os.ErrDeadlineExceeded
	}
	n := copy(b, p.replies)
	p.replies = p.replies[n:]
	return n, nil
}

func (p *scriptPort) Write(b []byte) (int, error) {
	p.written = append(p.written, append([]byte(nil), b...))
	return len(b), nil
}

func (p *scriptPort) SetReadDeadline(time.Time) error { return nil }
func (p *scriptPort) SetBaud(int) error               { return nil }
func (p *scriptPort) String() string                  { return "script" }

// Flush keeps the script: stale input is what the script says it is.
func (p *scriptPort) Flush() error { return nil }

func FuzzSendReplies(f *testing.F) {
	c, a, n := byte(ymodem.CRC), byte(ymodem.ACK), byte(ymodem.NAK)
	f.Add([]byte{c, a, c, a, a, a, a, c, a})                           // rb
	f.Add([]byte{c, a, c, a, a, n, a, a, n, a, c, a})                  // NAK on data and on the first EOT
	f.Add([]byte{c, a, c, a, n, n, a, a, a, a, a})                     // lost ACK, duplicate NAKed
	f.Add([]byte{c, ymodem.CAN, ymodem.CAN})                           // refused
	f.Add([]byte("MXCHIP> FWUPDATE\r\nWaiting ...\r\nC\x06C\x06\x06")) // text around replies
	f.Fuzz(func(t *testing.T, replies []byte) {
		p := &scriptPort{replies: replies}
		data := image(2100) // blocks of 1024, 1024 and a 52-byte tail
		opts := ymodem.Options{Retries: 3, Timeout: time.Millisecond, StartTimeout: time.Millisecond, EraseTimeout: time.Millisecond}
		err := ymodem.Send(context.Background(), p, file("fw.bin", data), opts, nil)
		if err == nil && len(p.written) < 6 {
			t.Fatalf("Send succeeded after %d writes, want block 0, 3 data blocks, EOT, end of batch", len(p.written))
		}
		for _, w := range p.written {
			switch {
			case len(w) == 1 && w[0] == ymodem.EOT:
			case bytes.Equal(w, []byte{ymodem.CAN, ymodem.CAN}):
			default:
				if _, err := ymodem.DecodeFrame(w); err != nil {
					t.Fatalf("sender wrote a bad frame %x: %v", w[:min(8, len(w))], err)
				}
			}
		}
	})
}
