package serialtest

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"ota-agent/platform/serial"
)

var (
	_ serial.Lines      = (*BootLines)(nil)
	_ serial.GPIOSetter = (*BootLines)(nil)
	_ serial.Breaker    = (*BootLines)(nil)
)

// BootLines stands in for the reset and boot-select wiring of a board, which
// cannot exist on a pty (no modem lines) or in this sandbox (no GPIO chip).
// It records every toggle and, when the reset line is released (a rising
// edge on ResetLine), calls OnReset with whether the boot line selected the
// bootloader at that moment. Its defaults match the classic USB-UART wiring
// for stm32flash's "-rts&-dtr,dtr:rts&-dtr,dtr": DTR drives NRST (low holds
// the MCU in reset), RTS low selects the bootloader (BOOT0 through an
// inverter). It implements serial.Lines, serial.GPIOSetter and
// serial.Breaker, and is safe for concurrent use.
type BootLines struct {
	ResetLine string          // "dtr" (default), "rts" or a GPIO number
	BootLine  string          // "rts" (default), "dtr" or a GPIO number
	BootLevel bool            // level of BootLine that selects the bootloader; default low
	OnReset   func(boot bool) // called on each reset release; may be nil
	mu        sync.Mutex      //
	level     map[string]bool // current level per line
	log       []string        // toggles, e.g. "-rts", "dtr", "brk"
}

// SetDTR implements serial.Lines.
func (b *BootLines) SetDTR(on bool) error { b.set("dtr", on); return nil }

// SetRTS implements serial.Lines.
func (b *BootLines) SetRTS(on bool) error { b.set("rts", on); return nil }

// SetGPIO implements serial.GPIOSetter.
func (b *BootLines) SetGPIO(offset int, high bool) error {
	b.set(strconv.Itoa(offset), high)
	return nil
}

// Break implements serial.Breaker; it is only recorded.
func (b *BootLines) Break() error {
	b.mu.Lock()
	b.log = append(b.log, "brk")
	b.mu.Unlock()
	return nil
}

// Toggles returns the toggles so far in stm32flash's notation, joined by
// spaces: "-rts -dtr dtr".
func (b *BootLines) Toggles() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.log, " ")
}

// Level returns the current level of a line ("dtr", "rts", "17"); lines
// never driven read low.
func (b *BootLines) Level(line string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.level[line]
}

func (b *BootLines) set(line string, on bool) {
	b.mu.Lock()
	if b.level == nil {
		b.level = map[string]bool{}
	}
	reset, boot := b.ResetLine, b.BootLine
	if reset == "" {
		reset = "dtr"
	}
	if boot == "" {
		boot = "rts"
	}
	was := b.level[line]
	b.level[line] = on
	name := line
	if !on {
		name = "-" + line
	}
	b.log = append(b.log, name)
	released := line == reset && on && !was
	bootloader := b.level[boot] == b.BootLevel
	cb := b.OnReset
	b.mu.Unlock()
	if released && cb != nil {
		cb(bootloader)
	}
}

// String describes the wiring, for logs.
func (b *BootLines) String() string {
	return fmt.Sprintf("fake lines (reset=%s boot=%s)", def(b.ResetLine, "dtr"), def(b.BootLine, "rts"))
}

func def(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
