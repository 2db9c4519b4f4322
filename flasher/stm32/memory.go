package stm32

import (
	"context"
	"fmt"
	"time"
)

// ReadMemory runs Read Memory (0x11): fills buf (1 to 256 bytes) from addr.
// A NACK to the command means readout protection (ErrReadProtected).
func (c *Conn) ReadMemory(ctx context.Context, addr uint32, buf []byte) error {
	if len(buf) == 0 || len(buf) > MaxBlock {
		return fmt.Errorf("read %#x: %d bytes, want 1..%d", addr, len(buf), MaxBlock)
	}
	if err := c.command(ctx, CmdReadMemory); err != nil {
		return fmt.Errorf("read %#x: %w", addr, err)
	}
	if err := c.sendAck(ctx, EncodeAddress(addr), 0); err != nil {
		return fmt.Errorf("read %#x: address: %w", addr, err)
	}
	n := byte(len(buf) - 1)
	if err := c.sendAck(ctx, []byte{n, ^n}, 0); err != nil {
		return fmt.Errorf("read %#x: length %d: %w", addr, len(buf), err)
	}
	if err := c.read(ctx, buf, c.wire(len(buf), 0)); err != nil {
		return fmt.Errorf("read %#x: data: %w", addr, err)
	}
	return nil
}

// WriteMemory runs Write Memory (0x31): writes data (1 to 256 bytes, a
// multiple of 4, addr 4-aligned) at addr and waits up to program for the
// device to program it before its ACK.
func (c *Conn) WriteMemory(ctx context.Context, addr uint32, data []byte, program time.Duration) error {
	if len(data) == 0 || len(data) > MaxBlock || len(data)%4 != 0 || addr%4 != 0 {
		return fmt.Errorf("write %#x: %d bytes: want 1..%d bytes, a multiple of 4 at a 4-aligned address", addr, len(data), MaxBlock)
	}
	if err := c.command(ctx, CmdWriteMemory); err != nil {
		return fmt.Errorf("write %#x: %w", addr, err)
	}
	if err := c.sendAck(ctx, EncodeAddress(addr), 0); err != nil {
		return fmt.Errorf("write %#x: address: %w", addr, err)
	}
	if err := c.sendAck(ctx, EncodeData(data), program); err != nil {
		return fmt.Errorf("write %#x: data: %w", addr, err)
	}
	return nil
}

// Erase erases pages with Erase (0x43) or, when extended, Extended Erase
// (0x44); nil pages means mass erase. It waits up to wait for the ACK,
// which comes only when the erase is done.
func (c *Conn) Erase(ctx context.Context, pages []int, extended bool, wait time.Duration) error {
	code, frame := byte(CmdErase), []byte(nil)
	if extended {
		code, frame = CmdExtendedErase, EncodeExtendedErase(pages)
	} else {
		for _, p := range pages {
			if p > 0xFE {
				return fmt.Errorf("erase page %d: the Erase command (0x43) numbers pages 0..254 only", p)
			}
		}
		if len(pages) > 255 {
			return fmt.Errorf("erase %d pages: at most 255 per Erase command", len(pages))
		}
		frame = EncodeErase(pages)
	}
	if pages != nil && len(pages) == 0 {
		return nil
	}
	if err := c.command(ctx, code); err != nil {
		return fmt.Errorf("erase: %w", err)
	}
	if err := c.sendAck(ctx, frame, wait); err != nil {
		return fmt.Errorf("erase %s: %w", pageList(pages), err)
	}
	return nil
}

// pageList is "pages 0..19" or "mass erase", for messages.
func pageList(pages []int) string {
	switch {
	case pages == nil:
		return "mass erase"
	case len(pages) == 1:
		return fmt.Sprintf("page %d", pages[0])
	default:
		return fmt.Sprintf("pages %d..%d", pages[0], pages[len(pages)-1])
	}
}

// GetChecksum runs Get Checksum (0xA1): the CRC-32 (see CRC32) of n bytes
// at addr, both multiples of 4. The device computes it at its own pace;
// rate is the bytes per second it needs (0: no allowance).
func (c *Conn) GetChecksum(ctx context.Context, addr, n uint32, compute time.Duration) (uint32, error) {
	if addr%4 != 0 || n%4 != 0 || n == 0 {
		return 0, fmt.Errorf("checksum %#x+%d: want a non-zero multiple of 4 at a 4-aligned address", addr, n)
	}
	if err := c.command(ctx, CmdGetChecksum); err != nil {
		return 0, fmt.Errorf("checksum %#x: %w", addr, err)
	}
	if err := c.sendAck(ctx, EncodeAddress(addr), 0); err != nil {
		return 0, fmt.Errorf("checksum %#x: address: %w", addr, err)
	}
	if err := c.sendAck(ctx, EncodeAddress(n), 0); err != nil {
		return 0, fmt.Errorf("checksum %#x: size %d: %w", addr, n, err)
	}
	if err := c.ack(ctx, c.wire(1, compute)); err != nil {
		return 0, fmt.Errorf("checksum %#x: %w", addr, err)
	}
	var b [5]byte
	if err := c.read(ctx, b[:], c.wire(5, 0)); err != nil {
		return 0, fmt.Errorf("checksum %#x: %w", addr, err)
	}
	return ParseChecksum(b[:])
}

// Resync brings the bootloader back to waiting for a command after a lost
// byte, a stall or a reset: it discards pending input, then sends 0x7F one
// at a time until a reply comes (ACK: the part was reset and is synced
// again; NACK: a half-received frame or command was completed and
// refused), waits for the line to go quiet, and checks with Get ID. It
// keeps trying for a few reply timeouts (at least 2 s), as a stalled part
// may answer late.
func (c *Conn) Resync(ctx context.Context) error {
	probe := c.wire(2, 0) / 10
	if probe < 20*time.Millisecond {
		probe = 20 * time.Millisecond
	}
	budget := max(2*time.Second, 6*c.timeout)
	deadline := time.Now().Add(budget)
	for round := 0; round == 0 || time.Now().Before(deadline); round++ {
		c.drain()
		for i := 0; i < MaxBlock+8; i++ {
			if err := c.send([]byte{Sync}); err != nil {
				return fmt.Errorf("resync: %w", err)
			}
			err := c.ack(ctx, probe)
			if ctx.Err() != nil {
				return fmt.Errorf("resync: %w", ctx.Err())
			}
			if err == nil || errorsIsNack(err) || isBadReply(err) {
				break
			}
		}
		if err := quiet(ctx, c, probe); err != nil {
			return err
		}
		if _, err := c.GetID(ctx); err == nil {
			return nil
		} else if ctx.Err() != nil {
			return fmt.Errorf("resync: %w", ctx.Err())
		}
	}
	return fmt.Errorf("resync: the bootloader did not answer Get ID within %v of 0x7F probes; reset the MCU into its bootloader", budget)
}

// quiet waits until nothing has arrived for d, discarding what comes.
func quiet(ctx context.Context, c *Conn, d time.Duration) error {
	var b [64]byte
	for {
		n, rerr := readWithin(ctx, c, b[:], d)
		if ctx.Err() != nil {
			return fmt.Errorf("resync: %w", ctx.Err())
		}
		if n == 0 || rerr != nil {
			return nil
		}
	}
}

func readWithin(ctx context.Context, c *Conn, b []byte, d time.Duration) (int, error) {
	if err := c.port.SetReadDeadline(time.Now().Add(d)); err != nil {
		return 0, err
	}
	stop := context.AfterFunc(ctx, func() { c.port.SetReadDeadline(time.Now()) })
	defer stop()
	return c.port.Read(b)
}
