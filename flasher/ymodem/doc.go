// Package ymodem sends images over YMODEM-1K (CRC-16) to a module's
// bootloader on a UART, with an optional MXChip CLI front end, and wraps both
// as a flasher.Target for components of type ymodem (SPEC §6).
//
// # Wire format
//
// A block is start, seq, 255-seq, data (128 bytes after SOH, 1024 after STX)
// and the CRC-16/XMODEM of the data, big-endian. Block 0 carries
// "name\x00size"; an empty block 0 ends the batch. The receiver asks for CRC
// mode with 'C', accepts a block with ACK, rejects it with NAK, and cancels
// with CAN CAN (reference/serial-protocols.md §2).
//
// # Receivers this sender copes with
//
//   - lrzsz rb: ACKs duplicates, ACKs the first EOT, sends 'C' for the next
//     file about a second after EOT.
//   - STM32 IAP (AN4657) and the MXChip bootloader, which derives from it:
//     erase the whole application area before ACKing block 0 (so the first
//     reply can take seconds: the sender sizes that timeout by the image),
//     NAK a duplicate block instead of ACKing it (so a block resent after a
//     lost ACK is NAKed forever: the sender then probes with the next block),
//     answer a damaged block with 'C' instead of NAK, and abort when a
//     packet starts with 'a' or 'A' (so nothing but frames may be sent once
//     the receiver waits).
//   - Classic XMODEM receivers that NAK the first EOT and ACK the second.
//
// The sender keeps the wire full: the next frame is built while the current
// one is on the line and written as soon as its ACK arrives, with no sleeps.
package ymodem
