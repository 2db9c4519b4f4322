package stm32

import (
	"fmt"
	"time"
)

// Device is one part in the table: where its flash and bootloader-free RAM
// are, how the flash is divided into erase units, and how long erasing and
// programming take (datasheet typical and maximum figures, rounded). The
// values follow AN2606 and stm32flash 0.7's dev_table.c, so that both tools
// number pages the same way.
type Device struct {
	PID        uint16
	Name       string
	RAMStart   uint32 // first RAM byte the bootloader leaves free
	RAMEnd     uint32 // one past the last RAM byte
	FlashStart uint32
	FlashEnd   uint32 // one past the last flash byte
	// Pages are the erase-unit sizes from FlashStart; the last size repeats
	// to FlashEnd. F0/F1/G0/L4 have uniform pages, F2/F4 sectors of 16, 64
	// and 128 KiB.
	Pages       []uint32
	EraseTyp    time.Duration // typical erase of the smallest unit; larger units scale
	EraseMax    time.Duration // maximum erase of the smallest unit
	ProgramTyp  time.Duration // typical programming time of a 256-byte block
	Bootloader  byte          // bootloader version this part ships with
	Extended    bool          // lists Extended Erase (0x44) instead of Erase (0x43)
	HasChecksum bool          // lists Get Checksum (0xA1)
}

var f4Sectors = []uint32{16 << 10, 16 << 10, 16 << 10, 16 << 10, 64 << 10, 128 << 10}

// f1 is the F0/F1 page profile: 1 or 2 KiB pages, ~20 ms erase, ~50 µs
// per half-word.
func f1(pid uint16, name string, ram0, ram1, flashKiB, page uint32, bl byte, ext bool) Device {
	return Device{PID: pid, Name: name, RAMStart: ram0, RAMEnd: ram1, FlashStart: 0x08000000,
		FlashEnd: 0x08000000 + flashKiB<<10, Pages: []uint32{page}, EraseTyp: 20 * time.Millisecond,
		EraseMax: 40 * time.Millisecond, ProgramTyp: 6 * time.Millisecond, Bootloader: bl, Extended: ext}
}

// f4 is the F2/F4 sector profile: programmed 32 bits at a time, 16 KiB
// sectors take ~250 ms (max 500 ms), 128 KiB ones ~1 s (max 2 s).
func f4(pid uint16, name string, ram0, ram1, flashKiB uint32) Device {
	return Device{PID: pid, Name: name, RAMStart: ram0, RAMEnd: ram1, FlashStart: 0x08000000,
		FlashEnd: 0x08000000 + flashKiB<<10, Pages: f4Sectors, EraseTyp: 250 * time.Millisecond,
		EraseMax: 500 * time.Millisecond, ProgramTyp: 1 * time.Millisecond, Bootloader: 0x31, Extended: true}
}

// g0l4 is the G0/L4 profile: 2 KiB pages programmed 64 bits at a time,
// ~22 ms erase (max 40 ms); their bootloaders list Get Checksum.
func g0l4(pid uint16, name string, ram0, ram1, flashKiB uint32, bl byte) Device {
	d := Device{PID: pid, Name: name, RAMStart: ram0, RAMEnd: ram1, FlashStart: 0x08000000,
		FlashEnd: 0x08000000 + flashKiB<<10, Pages: []uint32{2048}, EraseTyp: 22 * time.Millisecond,
		EraseMax: 40 * time.Millisecond, ProgramTyp: 3 * time.Millisecond, Bootloader: bl, Extended: true,
		HasChecksum: true}
	return d
}

// Devices is the device table, by PID.
var Devices = map[uint16]Device{
	0x440: f1(0x440, "STM32F030x8/F05xxx", 0x20000800, 0x20002000, 64, 1024, 0x21, false),
	0x444: f1(0x444, "STM32F03xx4/6", 0x20000800, 0x20001000, 32, 1024, 0x10, false),
	0x442: f1(0x442, "STM32F030xC/F09xxx", 0x20001800, 0x20008000, 256, 2048, 0x52, true),
	0x448: f1(0x448, "STM32F070xB/F071xx/F072xx", 0x20001800, 0x20004000, 128, 2048, 0xA1, true),
	0x412: f1(0x412, "STM32F10xxx Low-density", 0x20000200, 0x20002800, 32, 1024, 0x22, false),
	0x410: f1(0x410, "STM32F10xxx Medium-density", 0x20000200, 0x20005000, 128, 1024, 0x22, false),
	0x414: f1(0x414, "STM32F10xxx High-density", 0x20000200, 0x20010000, 512, 2048, 0x22, false),
	0x418: f1(0x418, "STM32F105xx/F107xx", 0x20001000, 0x20010000, 256, 2048, 0x22, false),
	0x430: f1(0x430, "STM32F10xxx XL-density", 0x20000800, 0x20018000, 1024, 2048, 0x21, true),
	0x413: f4(0x413, "STM32F40xxx/41xxx", 0x20003000, 0x20020000, 1024),
	0x423: f4(0x423, "STM32F401xB(C)", 0x20003000, 0x20010000, 256),
	0x433: f4(0x433, "STM32F401xD(E)", 0x20003000, 0x20018000, 512),
	0x431: f4(0x431, "STM32F411xx", 0x20003000, 0x20020000, 512),
	0x421: f4(0x421, "STM32F446xx", 0x20003000, 0x20020000, 512),
	0x466: g0l4(0x466, "STM32G03xxx/04xxx", 0x20001000, 0x20002000, 64, 0x53),
	0x460: g0l4(0x460, "STM32G07xxx/08xxx", 0x20002700, 0x20009000, 128, 0xB3),
	0x415: g0l4(0x415, "STM32L47xxx/48xxx", 0x20003100, 0x20018000, 1024, 0xD0),
	0x435: g0l4(0x435, "STM32L43xxx/44xxx", 0x20003100, 0x2000C000, 256, 0xD1),
	0x462: g0l4(0x462, "STM32L45xxx/46xxx", 0x20003100, 0x20020000, 512, 0xD0),
	0x464: g0l4(0x464, "STM32L41xxx/42xxx", 0x20003100, 0x20008000, 128, 0xD0),
}

// LookupDevice returns the table entry for pid.
func LookupDevice(pid uint16) (Device, error) {
	d, ok := Devices[pid]
	if !ok {
		return Device{}, fmt.Errorf("product ID %#03x is not in the device table; check the part, or add it with its flash geometry from AN2606", pid)
	}
	return d, nil
}

// String is "0x410 (STM32F10xxx Medium-density)".
func (d Device) String() string { return fmt.Sprintf("%#03x (%s)", d.PID, d.Name) }

// pageSize returns the size of erase unit i.
func (d Device) pageSize(i int) uint32 {
	if i < len(d.Pages) {
		return d.Pages[i]
	}
	return d.Pages[len(d.Pages)-1]
}

// PageCount returns the number of erase units in the flash.
func (d Device) PageCount() int {
	n := 0
	for a := d.FlashStart; a < d.FlashEnd; n++ {
		a += d.pageSize(n)
	}
	return n
}

// PageStart returns the address where erase unit i begins.
func (d Device) PageStart(i int) uint32 {
	a := d.FlashStart
	for j := 0; j < i; j++ {
		a += d.pageSize(j)
	}
	return a
}

// PageSize returns the size in bytes of erase unit i.
func (d Device) PageSize(i int) uint32 { return d.pageSize(i) }

// PagesFor returns the erase units that [addr, addr+n) touches, or an
// error when the range leaves the flash.
func (d Device) PagesFor(addr uint32, n uint32) ([]int, error) {
	if n == 0 {
		return []int{}, nil
	}
	end := uint64(addr) + uint64(n)
	if addr < d.FlashStart || end > uint64(d.FlashEnd) {
		return nil, fmt.Errorf("range %#x..%#x is outside %s flash %#x..%#x", addr, end, d.Name, d.FlashStart, d.FlashEnd)
	}
	var pages []int
	a := uint64(d.FlashStart)
	for i := 0; a < end; i++ {
		next := a + uint64(d.pageSize(i))
		if next > uint64(addr) {
			pages = append(pages, i)
		}
		a = next
	}
	return pages, nil
}

// EraseTime returns the typical and maximum time to erase unit i: the
// smallest unit's figures scaled by its size (a 128 KiB F4 sector takes
// about four times a 16 KiB one, not eight).
func (d Device) EraseTime(i int) (typ, max time.Duration) {
	f := float64(d.pageSize(i)) / float64(d.Pages[0])
	if f > 1 {
		f = 1 + (f-1)/3 // large sectors erase relatively faster
	}
	return time.Duration(float64(d.EraseTyp) * f), time.Duration(float64(d.EraseMax) * f)
}
