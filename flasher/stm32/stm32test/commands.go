package stm32test

import (
	"ota-agent/flasher/stm32"
)

func (s *Sim) get(l *line) error {
	cmds := s.commandList()
	b := append([]byte{ack, byte(len(cmds)), s.dev.Bootloader}, cmds...)
	s.record("get")
	return l.send(append(b, ack)...)
}

func (s *Sim) getVersion(l *line) error {
	s.record("get-version")
	return l.send(ack, s.dev.Bootloader, 0, 0, ack)
}

func (s *Sim) getID(l *line) error {
	s.record("get-id")
	return l.send(ack, 1, byte(s.dev.PID>>8), byte(s.dev.PID), ack)
}

// address reads an address frame; a bad XOR is answered with NACK.
func (s *Sim) address(l *line) (uint32, bool, error) {
	b, err := l.next(5)
	if err != nil {
		return 0, false, err
	}
	a, derr := stm32.DecodeAddress(b)
	if derr != nil {
		s.violation("%v", derr)
		return 0, false, l.send(nack)
	}
	return a, true, nil
}

// region returns the memory that holds [a, a+n) and the offset in it.
func (s *Sim) region(a uint32, n int) ([]byte, int, bool) {
	end := uint64(a) + uint64(n)
	if a >= s.dev.FlashStart && end <= uint64(s.dev.FlashEnd) {
		return s.flash, int(a - s.dev.FlashStart), true
	}
	if a >= 0x20000000 && end <= uint64(s.dev.RAMEnd) {
		return s.ram, int(a - 0x20000000), true
	}
	return nil, 0, false
}

// refuseProtected NACKs the command while readout protection is on.
func (s *Sim) refuseProtected(l *line, what string) (bool, error) {
	if !s.ReadProtected() {
		return false, nil
	}
	s.record("%s refused (read protected)", what)
	return true, l.send(nack)
}

func (s *Sim) readMemory(l *line) error {
	if done, err := s.refuseProtected(l, "read"); done {
		return err
	}
	if err := l.send(ack); err != nil {
		return err
	}
	a, ok, err := s.address(l)
	if !ok {
		return err
	}
	if err := l.send(ack); err != nil {
		return err
	}
	nb, err := l.next(2)
	if err != nil {
		return err
	}
	n := int(nb[0]) + 1
	if nb[1] != ^nb[0] {
		s.violation("read length %#02x with complement %#02x", nb[0], nb[1])
		return l.send(nack)
	}
	s.mu.Lock()
	mem, off, ok := s.region(a, n)
	var data []byte
	if ok {
		data = append([]byte{ack}, mem[off:off+n]...)
	}
	s.stats.Reads++
	s.mu.Unlock()
	if !ok {
		s.violation("read %d bytes at %#x: outside flash and RAM", n, a)
		return l.send(nack)
	}
	if s.chance(s.opts.Faults.NACK) {
		return l.send(nack)
	}
	s.record("read %#x+%d", a, n)
	return l.send(data...)
}

func (s *Sim) goCmd(l *line) error {
	if done, err := s.refuseProtected(l, "go"); done {
		return err
	}
	if err := l.send(ack); err != nil {
		return err
	}
	a, ok, err := s.address(l)
	if !ok {
		return err
	}
	if _, _, in := s.region(a, 4); !in {
		s.violation("go %#x: outside flash and RAM", a)
		return l.send(nack)
	}
	s.record("go %#x", a)
	// stm32flash -R jumps to a stub in RAM that requests a system reset:
	// with BOOT0 still high, the part comes back in its bootloader. The
	// state changes before the ACK leaves, so that a host that resets the
	// part right after the ACK is not overtaken by this jump.
	s.Reset(a >= 0x20000000)
	if err := l.send(ack); err != nil {
		return err
	}
	return errReset
}
