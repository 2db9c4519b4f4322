// Package stm32 flashes an STM32 MCU through its system-memory USART
// bootloader (ST AN3155), the way stm32flash does, with what stm32flash
// lacks for unattended use: retries per block, resynchronisation after a
// lost byte or a reset, per-operation timeouts that scale with the work,
// cancellation, and errors that say what to check.
//
// # Protocol
//
// 8 data bits, even parity, 1 stop bit. The host sends 0x7F once after
// reset (auto-baud) and the bootloader answers ACK (0x79). Every command is
// [code, ^code], answered by ACK or NACK (0x1F). Addresses are 4 bytes big
// endian plus their XOR; counts are N-1 in one byte; data blocks end with
// the XOR of the count and the data. Once synced, 0x7F is an ordinary
// command byte: a second 0x7F after a first one that got no answer yields a
// NACK, which proves the bootloader was already synced.
//
// # Flow
//
// Target.Install opens the port (8E1; a pty drops parity, which is logged),
// runs the entry sequence or command, syncs, reads Get / Get Version / Get
// ID, refuses a read-protected part (it never mass-erases on its own),
// erases only the pages or sectors the image covers, writes 256-byte
// blocks, verifies (read-back, or Get Checksum 0xA1 when the bootloader
// lists it), then runs the exit sequence or sends Go.
//
// The simulated bootloader in stm32test speaks the same protocol over a
// pty, so the real stm32flash can be pointed at it.
package stm32
