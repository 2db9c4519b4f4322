// Package serial opens and drives a UART: configuration through
// github.com/jacobsa/go-serial, reads that honour deadlines and Close, modem
// lines (DTR/RTS), flush and break.
//
// jacobsa's file ignores read deadlines and Close does not unblock a pending
// read. Open therefore dups the descriptor, makes the copy non-blocking and
// wraps it with os.NewFile, which puts it in Go's poller: deadlines then work
// and Close interrupts a blocked Read at once (reference/serial-protocols.md
// §6.1).
package serial

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	jserial "github.com/jacobsa/go-serial/serial"
	"golang.org/x/sys/unix"
)

// Port is an open serial line. A read past the deadline returns an error
// wrapping os.ErrDeadlineExceeded.
type Port interface {
	io.ReadWriter
	SetReadDeadline(t time.Time) error
	SetBaud(baud int) error // may reopen the device
	String() string         // "ttyS2@115200", used in every error and log line
}

// Lines drives the modem control lines. A pty has none: its methods return
// an error wrapping ErrNoModemLines.
type Lines interface {
	SetDTR(on bool) error
	SetRTS(on bool) error
}

// ErrNoModemLines means the port cannot drive DTR/RTS (a pty, or a USB
// adapter without them): the ioctl gave ENOTTY.
var ErrNoModemLines = errors.New("port has no modem lines (DTR/RTS ioctl gave ENOTTY); wire the bootloader pins to GPIO lines (gpiochip0:17) or set enter_command")

// Parity of the line.
type Parity int

const (
	NoParity   Parity = iota // 8N1
	EvenParity               // 8E1 (STM32 bootloader); a pty drops it
)

// String is "8N1" or "8E1".
func (p Parity) String() string {
	if p == EvenParity {
		return "8E1"
	}
	return "8N1"
}

// Config says how to open a port.
type Config struct {
	Path   string
	Baud   int
	Parity Parity
	Log    *slog.Logger // nil = discard
}

// File is a Port on a tty device. It implements Port and Lines. Safe for one
// reader and one writer at a time; Close may be called from any goroutine.
type File struct {
	f    *os.File
	cfg  Config
	name string
	log  *slog.Logger
}

var (
	_ Port  = (*File)(nil)
	_ Lines = (*File)(nil)
)

// Open opens and configures the port (raw, 8 data bits, 1 stop bit). When
// even parity is asked for and the device clears it on readback (a pty
// always does), Open logs a warning and goes on.
func Open(cfg Config) (*File, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	p := &File{cfg: cfg, name: portName(cfg.Path), log: cfg.Log}
	if err := p.open(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *File) open() error {
	if p.cfg.Baud <= 0 {
		return fmt.Errorf("open %s: baud %d: want a positive rate", p.cfg.Path, p.cfg.Baud)
	}
	opts := jserial.OpenOptions{
		PortName:        p.cfg.Path,
		BaudRate:        uint(p.cfg.Baud),
		DataBits:        8,
		StopBits:        1,
		MinimumReadSize: 1,
	}
	if p.cfg.Parity == EvenParity {
		opts.ParityMode = jserial.PARITY_EVEN
	}
	rwc, err := jserial.Open(opts)
	if err != nil {
		return fmt.Errorf("open %s: %w", p, err)
	}
	jf, ok := rwc.(*os.File)
	if !ok {
		rwc.Close()
		return fmt.Errorf("open %s: unexpected port type %T", p, rwc)
	}
	fd, err := unix.Dup(int(jf.Fd()))
	jf.Close()
	if err != nil {
		return fmt.Errorf("open %s: dup: %w", p, err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return fmt.Errorf("open %s: set non-blocking: %w", p, err)
	}
	p.f = os.NewFile(uintptr(fd), p.cfg.Path)
	if p.cfg.Parity == EvenParity {
		if t, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil && t.Cflag&unix.PARENB == 0 {
			p.log.Warn("device dropped even parity (a pty always does); continuing with 8N1", "port", p.String())
		}
	}
	return nil
}

// portName shortens a device path for messages: /dev/ttyS2 → ttyS2,
// /dev/pts/7 → pts/7.
func portName(path string) string {
	if dir := filepath.Dir(path); filepath.Base(dir) == "pts" {
		return "pts/" + filepath.Base(path)
	}
	return filepath.Base(path)
}

// String implements Port: "ttyS2@115200".
func (p *File) String() string { return fmt.Sprintf("%s@%d", p.name, p.cfg.Baud) }

// Read implements io.Reader; it honours SetReadDeadline.
func (p *File) Read(b []byte) (int, error) { return p.f.Read(b) }

// Write implements io.Writer.
func (p *File) Write(b []byte) (int, error) { return p.f.Write(b) }

// SetReadDeadline implements Port.
func (p *File) SetReadDeadline(t time.Time) error { return p.f.SetReadDeadline(t) }

// SetBaud implements Port. It reopens the device at the new rate.
func (p *File) SetBaud(baud int) error {
	old := p.cfg.Baud
	p.f.Close()
	p.cfg.Baud = baud
	if err := p.open(); err != nil {
		p.cfg.Baud = old
		return err
	}
	return nil
}

// Baud returns the configured rate.
func (p *File) Baud() int { return p.cfg.Baud }

// Fd returns the descriptor, for ioctls the package does not wrap.
func (p *File) Fd() uintptr { return p.f.Fd() }

// Close closes the port; a Read blocked in another goroutine returns at once.
func (p *File) Close() error { return p.f.Close() }

// Flush discards bytes received but not read and bytes written but not sent.
func (p *File) Flush() error {
	if err := unix.IoctlSetInt(int(p.f.Fd()), unix.TCFLSH, unix.TCIOFLUSH); err != nil {
		return fmt.Errorf("flush %s: %w", p, err)
	}
	return nil
}

// Break sends a break condition (about 0.25 s).
func (p *File) Break() error {
	if err := unix.IoctlSetInt(int(p.f.Fd()), unix.TCSBRK, 0); err != nil {
		return fmt.Errorf("break on %s: %w", p, err)
	}
	return nil
}

// SetDTR implements Lines.
func (p *File) SetDTR(on bool) error { return p.setLine(unix.TIOCM_DTR, on, "DTR") }

// SetRTS implements Lines.
func (p *File) SetRTS(on bool) error { return p.setLine(unix.TIOCM_RTS, on, "RTS") }

func (p *File) setLine(bit int, on bool, name string) error {
	req := uint(unix.TIOCMBIC)
	if on {
		req = unix.TIOCMBIS
	}
	err := unix.IoctlSetPointerInt(int(p.f.Fd()), req, bit)
	if errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("set %s on %s: %w", name, p, ErrNoModemLines)
	}
	if err != nil {
		return fmt.Errorf("set %s on %s: %w", name, p, err)
	}
	return nil
}
