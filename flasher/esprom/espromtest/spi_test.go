package espromtest_test

import (
	"encoding/binary"
	"testing"
	"time"

	"ota-agent/flasher/esprom"
	"ota-agent/flasher/esprom/espromtest"
	"ota-agent/platform/serial"
)

// host speaks raw ROM commands to the simulator, for register-level tests.
type host struct {
	t     *testing.T
	port  *serial.File
	dec   esprom.SlipDecoder
	queue [][]byte
}

func newHost(t *testing.T) *host {
	h := &host{t: t, port: servePty(t, espromtest.New(espromtest.Options{Fatalf: t.Errorf}))}
	h.do(esprom.OpSync, append([]byte{7, 7, 0x12, 0x20}, make32(0x55)...))
	for range 7 {
		next(h.port, &h.dec, &h.queue, time.Second)
	}
	return h
}

func make32(b byte) []byte {
	p := make([]byte, 32)
	for i := range p {
		p[i] = b
	}
	return p
}

// do sends one request and returns the reply's value, body and status code.
func (h *host) do(op esprom.Op, data []byte) (uint32, []byte, byte) {
	h.t.Helper()
	h.port.Write(esprom.SlipEncode(esprom.Request{Op: op, Checksum: esprom.Checksum(data), Data: data}.Encode()))
	p, ok := next(h.port, &h.dec, &h.queue, 2*time.Second)
	if !ok {
		h.t.Fatalf("%v: no reply", op)
	}
	r, err := esprom.DecodeResponse(p)
	if err != nil {
		h.t.Fatal(err)
	}
	st, code, body, err := r.Status(4)
	if err != nil || (st != 0 && code == 0) {
		h.t.Fatalf("%v: status %d %d %v", op, st, code, err)
	}
	return r.Value, body, code
}

func (h *host) write(addr, v uint32) { h.do(esprom.OpWriteReg, words(addr, v, 0xFFFFFFFF, 0)) }

func (h *host) read(addr uint32) uint32 {
	v, _, _ := h.do(esprom.OpReadReg, words(addr))
	return v
}

func words(v ...uint32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return b
}

const (
	spi    = 0x3FF42000
	cmdReg = spi + 0x00
	w0     = spi + 0x80
	usrBit = 1 << 18
)

// spiCmd runs a flash command the way esptool's run_spiflash_command does
// and returns W0, checking that USR is clear on the first poll.
func (h *host) spiCmd(op byte, mosi []byte, readBits, addr, addrBits, dummy uint32) uint32 {
	h.t.Helper()
	flags := uint32(1 << 31)
	if readBits > 0 {
		flags |= 1 << 28
		h.write(spi+0x2C, readBits-1)
	}
	if len(mosi) > 0 {
		flags |= 1 << 27
		h.write(spi+0x28, uint32(8*len(mosi)-1))
		h.write(w0, binary.LittleEndian.Uint32(append(mosi, 0, 0, 0, 0)))
	} else if readBits > 0 && readBits < 32 {
		h.write(w0, 0) // as esptool clears W0 before a read
	}
	if addrBits > 0 {
		flags |= 1 << 30
		h.write(spi+0x20, (addrBits-1)<<26|max(dummy, 1)-1)
		h.write(spi+0x04, addr<<(32-addrBits))
	}
	if dummy > 0 {
		flags |= 1 << 29
	}
	h.write(spi+0x1C, flags)
	h.write(spi+0x24, 7<<28|uint32(op))
	h.write(cmdReg, usrBit)
	if v := h.read(cmdReg); v&usrBit != 0 {
		h.t.Fatalf("op %#x: SPI_CMD = %#x after one poll, want USR clear", op, v)
	}
	return h.read(w0)
}

func TestSPIFlashCommands(t *testing.T) {
	h := newHost(t)
	if got := h.spiCmd(0x9F, nil, 24, 0, 0, 0); got != 0x1640EF {
		t.Errorf("RDID: W0 = %#x, want 0x1640ef (EF 40 16)", got)
	}
	if got := h.spiCmd(0x05, nil, 8, 0, 0, 0); got != 0 {
		t.Errorf("RDSR: %#x, want 0", got)
	}
	h.spiCmd(0x01, []byte{0x1C}, 0, 0, 0, 0) // WRSR without WREN: ignored
	if got := h.spiCmd(0x05, nil, 8, 0, 0, 0); got != 0 {
		t.Errorf("RDSR after WRSR without write enable: %#x, want 0", got)
	}
	h.spiCmd(0x06, nil, 0, 0, 0, 0) // WREN
	if got := h.spiCmd(0x05, nil, 8, 0, 0, 0); got != 0x02 {
		t.Errorf("RDSR after WREN: %#x, want 0x02 (WEL)", got)
	}
	h.spiCmd(0x01, []byte{0x1C, 0x02}, 0, 0, 0, 0) // 16-bit WRSR
	if s1, s2 := h.spiCmd(0x05, nil, 8, 0, 0, 0), h.spiCmd(0x35, nil, 8, 0, 0, 0); s1 != 0x1C || s2 != 0x02 {
		t.Errorf("status after WRSR 1c 02: %#x %#x, want 0x1c 0x2 (WEL cleared)", s1, s2)
	}
	if got := h.spiCmd(0x5A, nil, 8, 0x10, 24, 8); got != 0xEF {
		t.Errorf("RDSFDP at 0x10: %#x, want 0xef (not XMC's 0x20)", got)
	}
	if got := h.spiCmd(0x5A, nil, 32, 0, 24, 8); got != 0x50444653 {
		t.Errorf("RDSFDP at 0: %#x, want \"SFDP\"", got)
	}
	if got := h.spiCmd(0x4B, nil, 32, 0, 0, 0); got != 0xFFFFFFFF {
		t.Errorf("unknown opcode: %#x, want MISO floating high", got)
	}
}

func TestReadFlashSlow(t *testing.T) {
	h := newHost(t)
	_, body, code := h.do(esprom.OpReadFlashSlow, words(0x1000, 10))
	if code != 0 || len(body) != 64 || body[0] != 0xFF {
		t.Errorf("read 10 bytes: code %#x, %d bytes, want 64 erased bytes", code, len(body))
	}
	if _, _, code := h.do(esprom.OpReadFlashSlow, words(0x1000, 65)); code != esprom.ErrCodeInvalidMessage {
		t.Errorf("read 65 bytes: code %#x, want 0x05", code)
	}
	if _, _, code := h.do(esprom.OpReadFlashSlow, words(4<<20-32, 32)); code != esprom.ErrCodeFlashWrite {
		t.Errorf("read past the end of flash: code %#x, want 0x08", code)
	}
	if _, _, code := h.do(esprom.OpReadFlashSlow, words(0)); code != esprom.ErrCodeInvalidMessage {
		t.Errorf("short request: code %#x, want 0x05", code)
	}
}
