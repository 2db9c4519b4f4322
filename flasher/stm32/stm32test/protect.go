package stm32test

import "ota-agent/flasher/stm32"

func (s *Sim) getChecksum(l *line) error {
	if done, err := s.refuseProtected(l, "checksum"); done {
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
	n, ok, err := s.address(l)
	if !ok {
		return err
	}
	s.mu.Lock()
	mem, off, in := s.region(a, int(n))
	var crc uint32
	if in && a%4 == 0 && n%4 == 0 && n > 0 {
		crc = stm32.CRC32(mem[off : off+int(n)])
	}
	s.mu.Unlock()
	if !in || a%4 != 0 || n%4 != 0 || n == 0 {
		s.violation("checksum of %d bytes at %#x: want a non-zero multiple of 4, 4-aligned, inside memory", n, a)
		return l.send(nack)
	}
	if err := l.send(ack); err != nil {
		return err
	}
	s.record("checksum %#x+%d", a, n)
	out := []byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)}
	return l.send(append(append([]byte{ack}, out...), xorOf(out))...)
}

func (s *Sim) writeProtect(l *line) error {
	if err := l.send(ack); err != nil {
		return err
	}
	nb, err := l.next(1)
	if err != nil {
		return err
	}
	if _, err := l.next(int(nb[0]) + 2); err != nil {
		return err
	}
	s.record("write-protect")
	s.Reset(true)
	if err := l.send(ack); err != nil {
		return err
	}
	return errReset
}

func (s *Sim) writeUnprotect(l *line) error {
	s.record("write-unprotect")
	s.Reset(true)
	if err := l.send(ack, ack); err != nil {
		return err
	}
	return errReset
}

func (s *Sim) readoutProtect(l *line) error {
	s.record("readout-protect")
	s.SetReadProtected(true)
	s.Reset(true)
	if err := l.send(ack, ack); err != nil {
		return err
	}
	return errReset
}

// readoutUnprotect mass-erases the flash, then lifts the protection.
func (s *Sim) readoutUnprotect(l *line) error {
	s.record("readout-unprotect")
	if err := l.send(ack); err != nil {
		return err
	}
	s.mu.Lock()
	for i := range s.flash {
		s.flash[i] = 0xFF
	}
	s.protected = false
	s.mu.Unlock()
	s.Reset(true)
	if err := l.send(ack); err != nil {
		return err
	}
	return errReset
}
