package stm32_test

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"ota-agent/flasher/stm32"
)

// replyPort is a serial.Port whose reads return canned bytes and then time
// out at once; writes are discarded.
type replyPort struct{ r *bytes.Reader }

func (p *replyPort) Read(b []byte) (int, error) {
	if p.r.Len() == 0 {
		return 0, os.ErrDeadlineExceeded
	}
	return p.r.Read(b[:min(len(b), 3)]) // short reads, as a UART gives
}
func (p *replyPort) Write(b []byte) (int, error)     { return len(b), nil }
func (p *replyPort) SetReadDeadline(time.Time) error { return nil }
func (p *replyPort) SetBaud(int) error               { return nil }
func (p *replyPort) String() string                  { return "fuzz@115200" }

// FuzzConnReplies feeds arbitrary device replies to every host command: no
// panic, no hang, and a reply accepted by Get must name a valid command set.
func FuzzConnReplies(f *testing.F) {
	ack := []byte{stm32.ACK}
	f.Add(append(append([]byte{stm32.ACK, stm32.ACK, 11, 0x22, 0, 1, 2, 0x11, 0x21, 0x31, 0x43, 0x63, 0x73, 0x82, 0x92}, ack...), stm32.ACK, 0x22, 0, 0, stm32.ACK, stm32.ACK, 1, 4, 0x10, stm32.ACK))
	f.Add([]byte{stm32.NACK, stm32.ACK, 0xFF})
	f.Add(append([]byte{stm32.ACK, stm32.ACK, stm32.ACK}, bytes.Repeat([]byte{0x5A}, 256)...))
	f.Add([]byte{stm32.Busy, stm32.Busy, stm32.ACK, stm32.ACK, stm32.ACK, stm32.ACK, 0x12, 0x34, 0x56, 0x78, 0x08})
	f.Fuzz(func(t *testing.T, replies []byte) {
		c := stm32.NewConn(&replyPort{bytes.NewReader(replies)}, 115200, time.Millisecond, nil)
		ctx := context.Background()
		c.Sync(ctx)
		if _, cmds, err := c.Get(ctx); err == nil {
			in := stm32.Info{Commands: cmds}
			if !in.Has(stm32.CmdGetID) || in.Has(stm32.CmdErase) == in.Has(stm32.CmdExtendedErase) {
				t.Fatalf("Get accepted command list % x", cmds)
			}
		}
		c.GetVersion(ctx)
		c.GetID(ctx)
		buf := make([]byte, 256)
		c.ReadMemory(ctx, 0x08000000, buf)
		c.WriteMemory(ctx, 0x08000000, buf, 0)
		c.Erase(ctx, []int{0, 1}, false, 0)
		c.Erase(ctx, nil, true, 0)
		c.GetChecksum(ctx, 0x08000000, 256, 0)
		c.Go(ctx, 0x08000000)
	})
}

// FuzzParse checks the pure reply parsers and the address round trip.
func FuzzParse(f *testing.F) {
	f.Add([]byte{11, 0x22, 0, 1, 2, 0x11, 0x21, 0x31, 0x43, 0x63, 0x73, 0x82, 0x92})
	f.Add([]byte{1, 4, 0x10})
	f.Add(stm32.EncodeAddress(0x08000100))
	f.Add([]byte{0x12, 0x34, 0x56, 0x78, 0x08})
	f.Fuzz(func(t *testing.T, b []byte) {
		stm32.ParseGet(b)
		stm32.ParseGetID(b)
		stm32.ParseChecksum(b)
		if a, err := stm32.DecodeAddress(b); err == nil {
			if !bytes.Equal(stm32.EncodeAddress(a), b) {
				t.Fatalf("DecodeAddress(% x) = %#x, which encodes to % x", b, a, stm32.EncodeAddress(a))
			}
		}
		if len(b) > 0 && len(b) <= 256 {
			fr := stm32.EncodeData(b)
			var x byte
			for _, c := range fr {
				x ^= c
			}
			if x != 0 || int(fr[0])+1 != len(b) {
				t.Fatalf("EncodeData(%d bytes) = bad frame", len(b))
			}
		}
	})
}
