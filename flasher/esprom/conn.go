package esprom

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"ota-agent/platform/serial"
)

// ErrNoReply means the ROM did not answer within the command's timeout.
var ErrNoReply = errors.New("no reply")

// readSlice bounds each blocking read so a cancelled context is noticed
// within this long even when the line is silent.
const readSlice = 100 * time.Millisecond

// conn speaks SLIP packets over a port. It is used by one goroutine.
type conn struct {
	port      serial.Port
	dec       SlipDecoder
	queue     [][]byte
	buf       []byte
	statusLen int      // 4 for ESP32-and-later ROMs
	trace     func(Op) // called for every request sent; may be nil
	noise     int      // frames that failed to decode
}

func newConn(p serial.Port) *conn {
	return &conn{port: p, buf: make([]byte, 4096), statusLen: 4}
}

func (c *conn) send(r Request) error {
	if c.trace != nil {
		c.trace(r.Op)
	}
	if _, err := c.port.Write(SlipEncode(r.Encode())); err != nil {
		return fmt.Errorf("send %v: %w", r.Op, err)
	}
	return nil
}

// drain forgets packets received so far (extra SYNC replies, boot messages).
func (c *conn) drain() { c.queue = c.queue[:0] }

// readPacket returns the next SLIP packet, waiting at most timeout.
func (c *conn) readPacket(ctx context.Context, timeout time.Duration) ([]byte, error) {
	end := time.Now().Add(timeout)
	for len(c.queue) == 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		left := time.Until(end)
		if left <= 0 {
			return nil, ErrNoReply
		}
		c.port.SetReadDeadline(time.Now().Add(min(left, readSlice)))
		n, err := c.port.Read(c.buf)
		if n > 0 {
			c.dec.Feed(c.buf[:n], func(p []byte, err error) {
				if err != nil {
					c.noise++
					return
				}
				c.queue = append(c.queue, p)
			})
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, fmt.Errorf("read %s: %w", c.port, err)
		}
	}
	p := c.queue[0]
	c.queue = c.queue[1:]
	return p, nil
}

// command sends r and waits for its reply, skipping stray packets. A non-zero
// status becomes a *ROMError; body is the reply data without status bytes.
func (c *conn) command(ctx context.Context, r Request, timeout time.Duration) (Response, []byte, error) {
	c.drain()
	if err := c.send(r); err != nil {
		return Response{}, nil, err
	}
	end := time.Now().Add(timeout)
	for {
		p, err := c.readPacket(ctx, time.Until(end))
		if err != nil {
			return Response{}, nil, fmt.Errorf("%v: %w within %v", r.Op, err, timeout)
		}
		resp, err := DecodeResponse(p)
		if err != nil || resp.Op != r.Op {
			c.noise++
			continue
		}
		status, code, body, err := resp.Status(c.statusLen)
		if err != nil {
			return resp, nil, err
		}
		if status != 0 {
			return resp, body, &ROMError{Op: r.Op, Code: code}
		}
		return resp, body, nil
	}
}
