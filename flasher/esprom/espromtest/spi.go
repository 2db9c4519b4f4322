package espromtest

import (
	"encoding/binary"
	"math/bits"
	"time"
)

// The ESP32's SPI1 controller, which drives the SPI flash. In ROM mode
// esptool runs flash commands through it with READ_REG/WRITE_REG: it sets
// the phases in SPI_USR, the lengths in SPI_USR1, MOSI_DLEN and MISO_DLEN,
// the opcode in SPI_USR2 and the data in W0..W15, sets USR in SPI_CMD,
// polls SPI_CMD until the controller clears USR (at most 10 reads) and reads
// the reply from W0 (esptool loader.py run_spiflash_command; the register
// addresses are esptool's targets/esp32.py).
const (
	spiBase     = 0x3FF42000
	spiCmdReg   = spiBase + 0x00
	spiAddrReg  = spiBase + 0x04
	spiUsrReg   = spiBase + 0x1C
	spiUsr1Reg  = spiBase + 0x20
	spiUsr2Reg  = spiBase + 0x24
	spiMosiDlen = spiBase + 0x28
	spiMisoDlen = spiBase + 0x2C
	spiW0Reg    = spiBase + 0x80 // W0..W15: 64 bytes of data buffer

	spiCmdUsr  = 1 << 18 // SPI_CMD: run the user command; cleared when done
	spiUsrCmd  = 1 << 31 // SPI_USR phases
	spiUsrAddr = 1 << 30
	spiUsrDumy = 1 << 29
	spiUsrMiso = 1 << 28
	spiUsrMosi = 1 << 27
)

// spiClockHz is the SPI flash clock in download mode. A command's phases
// (opcode, address, dummy, data) shift out at this rate; RDID takes 0.8 µs,
// far less than one READ_REG needs on the serial line at any baud rate
// (14 bytes: 35 µs even at 4 Mbaud), so a host that polls over the line
// always sees USR cleared on its first read, as on the chip.
const spiClockHz = 40_000_000

// SPI flash opcodes the simulated chip (a Winbond W25Q-like part) answers.
const (
	flashWRSR   = 0x01
	flashWRDI   = 0x04
	flashRDSR   = 0x05
	flashWREN   = 0x06
	flashWRSR3  = 0x11
	flashRDSR3  = 0x15
	flashWRSR2  = 0x31
	flashRDSR2  = 0x35
	flashWEVSR  = 0x50 // write enable for volatile status
	flashRDSFDP = 0x5A
	flashRDID   = 0x9F
	flashMfrID  = 0xEF // Winbond
	flashType   = 0x40 // W25Q, SPI/QPI
	statusWEL   = 1 << 1
)

// spiFlash is the flash chip behind the controller and the controller's
// busy state.
type spiFlash struct {
	status    [3]byte   // status registers 1-3
	volatile  bool      // WEVSR seen: the next status write is allowed
	busyUntil time.Time // USR reads set until then
}

// writeSPI stores a register write; setting USR in SPI_CMD runs the command.
func (s *Sim) writeSPI(addr, v uint32) {
	s.regs[addr] = v
	if addr == spiCmdReg && v&spiCmdUsr != 0 {
		s.spiRun()
	}
}

// readSPI returns a register, with USR in SPI_CMD cleared once the command
// has had its time on the SPI bus.
func (s *Sim) readSPI(addr uint32) uint32 {
	if addr == spiCmdReg && !time.Now().Before(s.spi.busyUntil) {
		s.regs[spiCmdReg] &^= spiCmdUsr
	}
	return s.regs[addr]
}

// spiCommand is one user command as the controller's registers describe it.
type spiCommand struct {
	op        byte
	addr      uint32
	addrBits  int
	dummyBits int
	mosi      []byte
	misoBits  int
}

// decodeSPI reads the command from the controller's registers (ESP32
// layout: address left-aligned in SPI_ADDR, lengths minus one).
func (s *Sim) decodeSPI() spiCommand {
	usr, usr1 := s.regs[spiUsrReg], s.regs[spiUsr1Reg]
	c := spiCommand{op: byte(s.regs[spiUsr2Reg])}
	if usr&spiUsrAddr != 0 {
		c.addrBits = int(usr1>>26&0x3F) + 1
		c.addr = s.regs[spiAddrReg] >> (32 - c.addrBits)
	}
	if usr&spiUsrDumy != 0 {
		c.dummyBits = int(usr1&0xFF) + 1
	}
	if usr&spiUsrMosi != 0 {
		n := min((int(s.regs[spiMosiDlen])+1+7)/8, 64)
		c.mosi = s.wBytes(n)
	}
	if usr&spiUsrMiso != 0 {
		c.misoBits = min(int(s.regs[spiMisoDlen])+1, 512)
	}
	return c
}

// spiRun executes the command and stores what the flash shifted back into
// W0.., leaving the bits beyond the read length as they were.
func (s *Sim) spiRun() {
	c := s.decodeSPI()
	if s.regs[spiUsrReg]&spiUsrCmd == 0 {
		c.op = 0 // no opcode phase: nothing the flash acts on
	}
	reply := s.spi.command(c, s.opts.FlashSize)
	if c.misoBits > 0 {
		s.putW(reply, c.misoBits)
	}
	phaseBits := 8 + c.addrBits + c.dummyBits + 8*len(c.mosi) + c.misoBits
	s.spi.busyUntil = time.Now().Add(time.Duration(phaseBits) * time.Second / spiClockHz)
}

// wBytes returns the first n bytes of W0.. (little-endian words, the first
// byte on the bus in the low bits of W0).
func (s *Sim) wBytes(n int) []byte {
	b := make([]byte, 64)
	for i := range 16 {
		binary.LittleEndian.PutUint32(b[4*i:], s.regs[spiW0Reg+4*uint32(i)])
	}
	return b[:n]
}

// putW writes the first nbits of reply into W0.. and keeps the rest.
func (s *Sim) putW(reply []byte, nbits int) {
	for i := 0; i*32 < nbits; i++ {
		var w [4]byte
		copy(w[:], reply[min(4*i, len(reply)):])
		mask := uint32(0xFFFFFFFF)
		if left := nbits - i*32; left < 32 {
			mask = 1<<left - 1
		}
		reg := spiW0Reg + 4*uint32(i)
		s.regs[reg] = s.regs[reg]&^mask | binary.LittleEndian.Uint32(w[:])&mask
	}
}

// command runs one flash opcode and returns what the flash sends on MISO.
// Opcodes the chip does not know leave MISO floating high (0xFF).
func (f *spiFlash) command(c spiCommand, flashSize int) []byte {
	n := (c.misoBits + 7) / 8
	switch c.op {
	case flashRDID:
		return []byte{flashMfrID, flashType, byte(bits.Len(uint(flashSize)) - 1)}
	case flashRDSR, flashRDSR2, flashRDSR3:
		return []byte{f.status[statusIndex(c.op)]}
	case flashWREN:
		f.status[0] |= statusWEL
	case flashWEVSR:
		f.volatile = true
	case flashWRDI:
		f.status[0] &^= statusWEL
		f.volatile = false
	case flashWRSR, flashWRSR2, flashWRSR3:
		f.writeStatus(c)
	case flashRDSFDP:
		return sfdp(c.addr, n)
	case 0xB9, 0xAB, 0x79, 0xFF, 0: // power-down, release, ultra-deep power-down, exit
	default:
		return fill(n, 0xFF)
	}
	return fill(n, 0xFF)
}

func statusIndex(op byte) int {
	switch op {
	case flashRDSR2, flashWRSR2:
		return 1
	case flashRDSR3, flashWRSR3:
		return 2
	}
	return 0
}

// writeStatus takes WRSR (one or two bytes), WRSR2 and WRSR3 after WREN or
// WEVSR; the write ends the enable, as on the chip.
func (f *spiFlash) writeStatus(c spiCommand) {
	if (f.status[0]&statusWEL == 0 && !f.volatile) || len(c.mosi) == 0 {
		return
	}
	i := statusIndex(c.op)
	for _, b := range c.mosi[:min(len(c.mosi), 3-i)] {
		f.status[i] = b
		i++
	}
	f.status[0] &^= statusWEL
	f.volatile = false
}

// sfdp returns n bytes of a minimal SFDP table from addr: the signature, one
// JEDEC parameter header and a vendor header whose ID (at 0x10, where
// esptool looks for XMC's 0x20) is the manufacturer.
func sfdp(addr uint32, n int) []byte {
	table := []byte{
		'S', 'F', 'D', 'P', 0x06, 0x01, 0x01, 0xFF, // signature, rev 1.6, 2 headers
		0x00, 0x06, 0x01, 0x10, 0x80, 0x00, 0x00, 0xFF, // JEDEC basic table at 0x80
		flashMfrID, 0x00, 0x01, 0x03, 0x90, 0x00, 0x00, 0xFF, // vendor table at 0x90
	}
	out := fill(n, 0xFF)
	for i := range out {
		if int(addr)+i < len(table) {
			out[i] = table[int(addr)+i]
		}
	}
	return out
}

func fill(n int, b byte) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}
