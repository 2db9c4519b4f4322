// Package serialtest provides the device side of a serial line for simulated
// devices: a pseudo-terminal pair whose master the simulator owns while the
// agent (or a real tool such as stm32flash or sb) opens the slave path, and a
// line-rate model. It does not import testing: ota-agent simulate and demo
// use it too.
package serialtest

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// Pty is a pseudo-terminal pair. The simulator reads and writes Master; the
// host opens Path. A watcher descriptor on the slave stays open for the
// life of the Pty: the master then never reads EIO when the host closes its
// side, and the simulator can read back the baud rate the host set.
type Pty struct {
	Master *os.File
	Path   string // slave device, e.g. /dev/pts/7
	watch  *os.File
	link   string
	mu     sync.Mutex
}

// Open creates a pty pair with the slave in raw mode. If link is not empty,
// a symlink with that name is made to the slave (as socat's link= does) and
// removed by Close.
func Open(link string) (*Pty, error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("open pty: %w", err)
	}
	if err := MakeRaw(s); err != nil {
		m.Close()
		s.Close()
		return nil, err
	}
	// The master from creack/pty is blocking; make it pollable so simulators
	// can use deadlines and Close unblocks reads.
	fd, err := unix.Dup(int(m.Fd()))
	m.Close()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("dup pty master: %w", err)
	}
	unix.SetNonblock(fd, true)
	p := &Pty{Master: os.NewFile(uintptr(fd), "ptmx"), Path: s.Name(), watch: s}
	if link != "" {
		os.Remove(link)
		if err := os.Symlink(p.Path, link); err != nil {
			p.Close()
			return nil, fmt.Errorf("link %s to %s: %w", link, p.Path, err)
		}
		p.link = link
	}
	return p, nil
}

// MakeRaw puts a tty in raw 8-bit mode, as a freshly opened slave is cooked
// with ECHO on.
func MakeRaw(f *os.File) error {
	fd := int(f.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return fmt.Errorf("get termios of %s: %w", f.Name(), err)
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		return fmt.Errorf("set raw mode on %s: %w", f.Name(), err)
	}
	return nil
}

// Baud returns the input speed the host last set on the slave (TCGETS2),
// or 0 if it cannot be read.
func (p *Pty) Baud() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.watch == nil {
		return 0
	}
	t, err := unix.IoctlGetTermios(int(p.watch.Fd()), unix.TCGETS2)
	if err != nil {
		return 0
	}
	return int(t.Ispeed)
}

// Close closes the master and the watcher and removes the link.
func (p *Pty) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	errs = append(errs, p.Master.Close())
	if p.watch != nil {
		errs = append(errs, p.watch.Close())
		p.watch = nil
	}
	if p.link != "" {
		os.Remove(p.link)
	}
	return errors.Join(errs...)
}

// ByteTime is how long one byte occupies a line at baud with bits per byte
// (10 for 8N1, 11 for 8E1). It is 0 when baud is 0 (no model).
func ByteTime(baud, bits int) time.Duration {
	if baud <= 0 {
		return 0
	}
	return time.Duration(int64(bits) * int64(time.Second) / int64(baud))
}

// Shaper paces bytes as a UART line would: a write of n bytes completes no
// earlier than n byte times after the line was last free. The zero value has
// no pacing. It is not safe for concurrent use.
type Shaper struct {
	Baud    func() int    // current line rate; nil or 0 = unlimited
	Bits    int           // bits per byte; 0 means 10 (8N1)
	Latency time.Duration // turnaround latency added before each reply
	free    time.Time     // when the line is next idle
}

// Delay returns how long to wait before n bytes that start being sent now
// have fully crossed the line, and books the line for them.
func (s *Shaper) Delay(now time.Time, n int) time.Duration {
	baud := 0
	if s.Baud != nil {
		baud = s.Baud()
	}
	bits := s.Bits
	if bits == 0 {
		bits = 10
	}
	start := now
	if s.free.After(start) {
		start = s.free
	}
	s.free = start.Add(time.Duration(n) * ByteTime(baud, bits))
	return s.free.Sub(now)
}
