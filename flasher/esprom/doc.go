// Package esprom flashes an Espressif chip (ESP32 family, the Wi-Fi module
// of many cameras and gateways) through its ROM serial loader: SLIP frames,
// SYNC, chip detection by magic register, SPI_ATTACH and SPI_SET_PARAMS, a
// baud switch with fallback to 115200, compressed writes (FLASH_DEFL_*) with
// plain FLASH_* as fallback and for images that do not deflate, per-block
// retries and an MD5 verify read from the ROM as ASCII hex
// (reference/serial-protocols.md §3).
//
// In ROM mode every 1 KiB block costs its bytes on the line plus one round
// trip, so on an incompressible image no ROM-mode flasher can beat the wire
// limit; BenchmarkVsEsptool measures us against esptool v4.8.1 --no-stub on
// the same simulated line (README, "ESP32 ROM loader and esptool").
//
// The command order follows what esptool sends for the same job in ROM mode
// (--no-stub), so a device that works with esptool works with us:
//
//	SYNC, GET_SECURITY_INFO (ESP32 ROM: 01 05), READ_REG 0x40001000 (magic),
//	CHANGE_BAUDRATE, SPI_ATTACH, SPI_SET_PARAMS,
//	FLASH_DEFL_BEGIN, FLASH_DEFL_DATA × n (or FLASH_BEGIN, FLASH_DATA × n),
//	SPI_FLASH_MD5, FLASH_BEGIN(0), FLASH_END(run user code)
//
// A simulated ROM sits in the sibling package espromtest.
package esprom
