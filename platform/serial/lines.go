package serial

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/warthog618/go-gpiocdev"
)

// DefaultGPIOChip is the chip whose lines the GPIO numbers of a Sequence
// name when none is configured.
const DefaultGPIOChip = "gpiochip0"

// HostLines are the lines a bootloader entry sequence drives on a real
// board: DTR, RTS and break on the serial port, and GPIO lines (by offset)
// on one GPIO character device, requested as outputs on first use and held
// until Close. It implements Lines, GPIOSetter and Breaker. Safe for
// concurrent use.
type HostLines struct {
	port *File  // nil: no modem lines
	chip string // e.g. "gpiochip0"

	mu    sync.Mutex
	gpios map[int]*gpiocdev.Line
}

var (
	_ Lines      = (*HostLines)(nil)
	_ GPIOSetter = (*HostLines)(nil)
	_ Breaker    = (*HostLines)(nil)
)

// OpenLines returns the lines for entry sequences: the modem lines and
// break of port (which may be nil when only GPIO is wired), and the GPIO
// lines of chip, given as "gpiochip0", "/dev/gpiochip0", or "gpiochip0:17"
// (the offset is ignored: the sequence names the lines). An empty chip means
// DefaultGPIOChip. No GPIO line is touched until a sequence drives one. The
// caller closes the HostLines (which releases the GPIO lines, not the port).
func OpenLines(chip string, port *File) (*HostLines, error) {
	chip = strings.TrimSpace(chip)
	if i := strings.IndexByte(chip, ':'); i >= 0 {
		chip = chip[:i]
	}
	chip = strings.TrimPrefix(chip, "/dev/")
	if chip == "" {
		chip = DefaultGPIOChip
	}
	if strings.ContainsAny(chip, "/ ") {
		return nil, fmt.Errorf("gpio chip %q: want a name like gpiochip0", chip)
	}
	return &HostLines{port: port, chip: chip, gpios: map[int]*gpiocdev.Line{}}, nil
}

// SetDTR implements Lines on the port's DTR line.
func (h *HostLines) SetDTR(on bool) error {
	if h.port == nil {
		return fmt.Errorf("set DTR: no serial port: %w", ErrNoModemLines)
	}
	return h.port.SetDTR(on)
}

// SetRTS implements Lines on the port's RTS line.
func (h *HostLines) SetRTS(on bool) error {
	if h.port == nil {
		return fmt.Errorf("set RTS: no serial port: %w", ErrNoModemLines)
	}
	return h.port.SetRTS(on)
}

// Break implements Breaker on the port.
func (h *HostLines) Break() error {
	if h.port == nil {
		return errors.New("send break: no serial port")
	}
	return h.port.Break()
}

// SetGPIO implements GPIOSetter: it drives line offset of the chip high or
// low, requesting it as an output (at that level) the first time.
func (h *HostLines) SetGPIO(offset int, high bool) error {
	v := 0
	if high {
		v = 1
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if l, ok := h.gpios[offset]; ok {
		if err := l.SetValue(v); err != nil {
			return fmt.Errorf("set gpio %s:%d to %d: %w", h.chip, offset, v, err)
		}
		return nil
	}
	l, err := gpiocdev.RequestLine(h.chip, offset, gpiocdev.AsOutput(v), gpiocdev.WithConsumer("ota-agent"))
	if err != nil {
		return fmt.Errorf("request gpio %s:%d as output: %w; check the chip name and offset (gpioinfo), and that no other program holds the line", h.chip, offset, err)
	}
	h.gpios[offset] = l
	return nil
}

// Close releases the GPIO lines (they keep their last level on most
// drivers). It does not close the port.
func (h *HostLines) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	for off, l := range h.gpios {
		if err := l.Close(); err != nil {
			errs = append(errs, fmt.Errorf("release gpio %s:%d: %w", h.chip, off, err))
		}
		delete(h.gpios, off)
	}
	return errors.Join(errs...)
}
