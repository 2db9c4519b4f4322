package esprom

import (
	"bytes"
	"testing"
)

func TestSlipRoundTrip(t *testing.T) {
	for _, p := range [][]byte{{}, {0xC0}, {0xDB}, {0xC0, 0xDB, 0xDC, 0xDD}, []byte("hello")} {
		var got [][]byte
		var d SlipDecoder
		d.Feed(append([]byte("noise"), SlipEncode(p)...), func(b []byte, err error) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, b)
		})
		if len(p) == 0 {
			if len(got) != 0 {
				t.Errorf("empty packet decoded as %x", got)
			}
			continue
		}
		if len(got) != 1 || !bytes.Equal(got[0], p) {
			t.Errorf("round trip of %x = %x", p, got)
		}
	}
}

func TestChecksum(t *testing.T) {
	if got := Checksum(nil); got != 0xEF {
		t.Errorf("Checksum(nil) = %#x, want 0xef", got)
	}
	if got := Checksum([]byte{0xEF}); got != 0 {
		t.Errorf("Checksum(ef) = %#x, want 0", got)
	}
}

func TestSyncFrameMatchesEsptool(t *testing.T) {
	// The first bytes esptool sent on a pty (serial-protocols.md §3.4).
	want := append([]byte{0xC0, 0x00, 0x08, 0x24, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x07, 0x12, 0x20}, bytes.Repeat([]byte{0x55}, 32)...)
	want = append(want, 0xC0)
	if got := SlipEncode(Request{Op: OpSync, Data: syncPayload}.Encode()); !bytes.Equal(got, want) {
		t.Errorf("SYNC frame\n got %x\nwant %x", got, want)
	}
}

func FuzzSlip(f *testing.F) {
	f.Add([]byte{0xC0, 0x01, 0x08, 0x04, 0, 0x07, 0x07, 0x12, 0x20, 0, 0, 0, 0, 0xC0})
	f.Add([]byte{0xC0, 0xDB, 0xDC, 0xDB, 0xDD, 0xC0, 0xDB, 0x00})
	f.Add(SlipEncode(Response{Op: OpSPIFlashMD5, Data: []byte("0123456789abcdef0123456789abcdef\x00\x00\x00\x00")}.Encode()))
	f.Fuzz(func(t *testing.T, in []byte) {
		var d SlipDecoder
		d.Feed(in, func(p []byte, err error) {
			if err != nil {
				return
			}
			// Whatever decodes must re-encode and decode to itself.
			var again [][]byte
			var d2 SlipDecoder
			d2.Feed(SlipEncode(p), func(q []byte, err error) { again = append(again, q) })
			if len(again) != 1 || !bytes.Equal(again[0], p) {
				t.Fatalf("re-encode of %x decodes to %x", p, again)
			}
			if r, err := DecodeResponse(p); err == nil {
				r.Status(4)
				if !bytes.Equal(r.Encode(), p) {
					t.Fatalf("response %x re-encodes to %x", p, r.Encode())
				}
			}
			if r, err := DecodeRequest(p); err == nil && !bytes.Equal(r.Encode(), p) {
				t.Fatalf("request %x re-encodes to %x", p, r.Encode())
			}
		})
	})
}
