package espromtest

import "encoding/binary"

// chipMAC is the simulated chip's base MAC address (Espressif's OUI
// 24:0A:C4), as esptool read_mac prints it.
var chipMAC = [6]byte{0x24, 0x0A, 0xC4, 0x5E, 0xA1, 0x01}

// Read-only registers esptool reads in ROM mode to describe the chip, check
// its security settings and work out the crystal for CHANGE_BAUDRATE
// (addresses from esptool's targets/esp32.py).
const (
	efuseBase   = 0x3FF5A000 // EFUSE_BLK0_RDATA0..6 at +0x00..+0x18
	apbCtlDate  = 0x3FF6607C // bit 31: chip revision bit 2
	rtcCaliCfg1 = 0x3FF5F06C // RTC calibration of the 8 MHz clock against the crystal
	gpioStrap   = 0x3FF44038
	uartClkdiv  = 0x3FF40014
)

// chipReg returns the value of a read-only chip register, or false when
// addr is not one. The values describe an ESP32-D0WD-V3 revision v3.0 with
// a 40 MHz crystal, no secure boot, no flash encryption, default SPI pads:
//
//   - EFUSE word 3: package 1 (D0WD, bits 9-11), revision bit 0 (bit 15);
//     BT and both cores enabled.
//   - EFUSE word 4: CK8M_FREQ = 100 in bits 0-7; no VDD_SPI override.
//   - EFUSE word 5: revision bit 1 (bit 20), minor revision 0.
//   - RTCCALICFG1: a calibration of 1024 (bits 7-31). esptool's change_baud
//     computes the ROM's idea of the crystal as 1024 × 15625 × 100 / 40 =
//     40 MHz and so sends the rate it wants unchanged.
//   - GPIO_STRAP: 0x13, the strapping of UART download mode.
func (s *Sim) chipReg(addr uint32) (uint32, bool) {
	switch addr {
	case efuseBase + 0x04:
		return binary.BigEndian.Uint32(chipMAC[2:]), true
	case efuseBase + 0x08:
		return uint32(chipMAC[0])<<8 | uint32(chipMAC[1]), true // CRC byte above left 0
	case efuseBase + 0x0C:
		return 1<<9 | 1<<15, true
	case efuseBase + 0x10:
		return 100, true
	case efuseBase + 0x14:
		return 1 << 20, true
	case efuseBase, efuseBase + 0x18:
		return 0, true
	case apbCtlDate:
		return 1 << 31, true
	case rtcCaliCfg1:
		return 1024 << 7, true
	case gpioStrap:
		return 0x13, true
	case uartClkdiv: // 40 MHz APB / baud, as the ROM set it
		return uint32(40_000_000 / s.romBaud), true
	}
	return 0, false
}
