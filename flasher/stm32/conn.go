package stm32

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"ota-agent/platform/serial"
)

// DefaultTimeout is the base wait for a reply, before the time the bytes
// themselves need on the line and any erase or programming time. stm32flash
// waits 0.5 s per read too.
const DefaultTimeout = 500 * time.Millisecond

// Conn speaks AN3155 over a port it does not own (the caller closes the
// port). Its methods send one command each and are not safe for concurrent
// use.
type Conn struct {
	port     serial.Port
	log      *slog.Logger
	byteTime time.Duration // one byte at 8E1 (11 bits) on the line
	timeout  time.Duration
}

// NewConn returns a Conn on port, which runs at baud (to size timeouts:
// the line carries 11 bits per byte at 8E1). timeout is the base reply
// wait (0 = DefaultTimeout). A nil log discards.
func NewConn(port serial.Port, baud int, timeout time.Duration, log *slog.Logger) *Conn {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	bt := time.Duration(0)
	if baud > 0 {
		bt = time.Duration(11 * int64(time.Second) / int64(baud))
	}
	return &Conn{port: port, log: log, byteTime: bt, timeout: timeout}
}

// wire returns the reply timeout for an exchange of n bytes on the line
// plus extra device time.
func (c *Conn) wire(n int, extra time.Duration) time.Duration {
	return c.timeout + 2*time.Duration(n)*c.byteTime + extra
}

func (c *Conn) send(b []byte) error {
	if _, err := c.port.Write(b); err != nil {
		return fmt.Errorf("write %d bytes: %w", len(b), err)
	}
	return nil
}

// read reads exactly len(b) bytes within timeout.
func (c *Conn) read(ctx context.Context, b []byte, timeout time.Duration) error {
	_, err := serial.ReadFull(ctx, c.port, b, timeout)
	return err
}

// ack waits for ACK. A NACK gives ErrNoAck, any other byte ErrBadReply;
// BUSY (0x76) extends the wait until timeout.
func (c *Conn) ack(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var b [1]byte
	for {
		left := time.Until(deadline)
		if left <= 0 {
			left = time.Millisecond
		}
		if err := c.read(ctx, b[:], left); err != nil {
			if errors.Is(err, serial.ErrTimeout) {
				return fmt.Errorf("no ACK within %v: %w", timeout.Round(time.Millisecond), err)
			}
			return err
		}
		switch b[0] {
		case ACK:
			return nil
		case NACK:
			return ErrNoAck
		case Busy:
			if time.Now().Before(deadline) {
				continue
			}
			return fmt.Errorf("still busy after %v: %w", timeout.Round(time.Millisecond), serial.ErrTimeout)
		default:
			return fmt.Errorf("got %#02x, want ACK 0x79 or NACK 0x1f: %w", b[0], ErrBadReply)
		}
	}
}

// command sends code and its complement and waits for the ACK.
func (c *Conn) command(ctx context.Context, code byte) error {
	if err := c.send(EncodeCommand(code)); err != nil {
		return err
	}
	err := c.ack(ctx, c.wire(3, 0))
	if errors.Is(err, ErrNoAck) {
		return fmt.Errorf("%w: %w", &RefusedError{code}, err)
	}
	if err != nil {
		return fmt.Errorf("command %#02x: %w", code, err)
	}
	return nil
}

// sendAck sends b and waits up to the wire time plus extra for the ACK.
func (c *Conn) sendAck(ctx context.Context, b []byte, extra time.Duration) error {
	if err := c.send(b); err != nil {
		return err
	}
	return c.ack(ctx, c.wire(len(b)+1, extra))
}

// drain discards whatever the device has sent and the host not yet read.
func (c *Conn) drain() {
	var buf [512]byte
	for {
		c.port.SetReadDeadline(time.Now())
		n, err := c.port.Read(buf[:])
		if n == 0 || err != nil {
			return
		}
	}
}

// errSync marks a failed sync, after which a lower rate may work.
var errSync = errors.New("sync")

// Sync sends 0x7F so the bootloader measures the baud rate, and accepts
// ACK. If the first byte gets no answer it sends a second one: a NACK to
// that means the bootloader was already synced (a previous session did not
// reset it), which is fine. A NACK to the first byte is fine too.
func (c *Conn) Sync(ctx context.Context) error {
	c.drain()
	for try := 1; try <= 2; try++ {
		if err := c.send([]byte{Sync}); err != nil {
			return fmt.Errorf("sync: %w", err)
		}
		err := c.ack(ctx, c.wire(2, 0))
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrNoAck):
			c.log.Warn("bootloader was already synced (the last session did not reset it)", "port", c.port.String())
			return nil
		case ctx.Err() != nil:
			return fmt.Errorf("sync: %w", ctx.Err())
		case errors.Is(err, serial.ErrTimeout):
			continue
		default:
			return fmt.Errorf("%w: %w; check that the MCU is in its bootloader (BOOT0 high during reset), TX/RX wiring and the baud rate", errSync, err)
		}
	}
	return fmt.Errorf("%w: no answer to 0x7F after 2 tries: %w; check that the MCU is in its bootloader (BOOT0 high during reset), TX/RX wiring and the baud rate", errSync, serial.ErrTimeout)
}

// Get runs Get (0x00): bootloader version and the commands it lists.
func (c *Conn) Get(ctx context.Context) (version byte, cmds []byte, err error) {
	if err := c.command(ctx, CmdGet); err != nil {
		return 0, nil, fmt.Errorf("get: %w", err)
	}
	b, err := c.counted(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("get: %w", err)
	}
	return ParseGet(b)
}

// counted reads a count byte N and N+1 more bytes, then the final ACK.
func (c *Conn) counted(ctx context.Context) ([]byte, error) {
	b := make([]byte, 1, 260)
	if err := c.read(ctx, b, c.wire(2, 0)); err != nil {
		return nil, err
	}
	b = b[:int(b[0])+2]
	if err := c.read(ctx, b[1:], c.wire(len(b), 0)); err != nil {
		return nil, err
	}
	if err := c.ack(ctx, c.wire(1, 0)); err != nil {
		return nil, fmt.Errorf("final ACK: %w", err)
	}
	return b, nil
}

// GetVersion runs Get Version & Read Protection (0x01).
func (c *Conn) GetVersion(ctx context.Context) (version, opt1, opt2 byte, err error) {
	if err := c.command(ctx, CmdGetVersion); err != nil {
		return 0, 0, 0, fmt.Errorf("get version: %w", err)
	}
	var b [3]byte
	if err := c.read(ctx, b[:], c.wire(4, 0)); err != nil {
		return 0, 0, 0, fmt.Errorf("get version: %w", err)
	}
	if err := c.ack(ctx, c.wire(1, 0)); err != nil {
		return 0, 0, 0, fmt.Errorf("get version: final ACK: %w", err)
	}
	return b[0], b[1], b[2], nil
}

// GetID runs Get ID (0x02) and returns the product ID.
func (c *Conn) GetID(ctx context.Context) (uint16, error) {
	if err := c.command(ctx, CmdGetID); err != nil {
		return 0, fmt.Errorf("get id: %w", err)
	}
	b, err := c.counted(ctx)
	if err != nil {
		return 0, fmt.Errorf("get id: %w", err)
	}
	return ParseGetID(b)
}

// Go runs Go (0x21): the MCU jumps to addr (the vector table there).
func (c *Conn) Go(ctx context.Context, addr uint32) error {
	if err := c.command(ctx, CmdGo); err != nil {
		return fmt.Errorf("go %#x: %w", addr, err)
	}
	if err := c.sendAck(ctx, EncodeAddress(addr), 0); err != nil {
		return fmt.Errorf("go %#x: address: %w", addr, err)
	}
	return nil
}

// RefusedError is a NACK to a command code itself (not to its address or
// data). From Read, Write and Go it means readout protection when it
// persists; once, it may be a corrupted command byte.
type RefusedError struct{ Code byte }

// Error implements error.
func (e *RefusedError) Error() string { return fmt.Sprintf("command %#02x refused", e.Code) }

// Unwrap returns ErrNoAck.
func (e *RefusedError) Unwrap() error { return ErrNoAck }
