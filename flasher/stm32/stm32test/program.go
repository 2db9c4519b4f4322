package stm32test

import (
	"time"

	"ota-agent/flasher/stm32"
)

func xorOf(b []byte) byte {
	var x byte
	for _, c := range b {
		x ^= c
	}
	return x
}

func (s *Sim) writeMemory(l *line) error {
	if done, err := s.refuseProtected(l, "write"); done {
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
	nb, err := l.next(1)
	if err != nil {
		return err
	}
	rest, err := l.next(int(nb[0]) + 2)
	if err != nil {
		return err
	}
	data, cks := rest[:len(rest)-1], rest[len(rest)-1]
	if want := nb[0] ^ xorOf(data); cks != want {
		s.violation("write %#x: checksum %#02x, want %#02x", a, cks, want)
		return l.send(nack)
	}
	s.mu.Lock()
	s.stats.Writes++
	resetNow := s.opts.Faults.ResetAt > 0 && s.stats.Writes == s.opts.Faults.ResetAt
	s.mu.Unlock()
	if resetNow {
		s.Reset(true)
		s.mu.Lock()
		s.stats.Faults++
		s.faulted = true
		s.mu.Unlock()
		return errReset
	}
	if a%4 != 0 || len(data)%4 != 0 {
		s.violation("write %d bytes at %#x: want a multiple of 4 at a 4-aligned address", len(data), a)
		return l.send(nack)
	}
	if s.chance(s.opts.Faults.NACK) {
		return l.send(nack)
	}
	if s.chance(s.opts.Faults.FlashFlip) {
		data = append([]byte(nil), data...)
		data[s.intn(len(data))] ^= 1 << s.intn(8)
	}
	if !s.program(a, data) {
		return l.send(nack)
	}
	if err := l.busy(time.Duration(len(data)) * s.dev.ProgramTyp / stm32.MaxBlock); err != nil {
		return err
	}
	s.record("write %#x+%d", a, len(data))
	return l.send(ack)
}

// program stores data at a: flash bytes must be erased (or already hold
// the same value), as NOR flash cannot turn 0 bits back into 1.
func (s *Sim) program(a uint32, data []byte) bool {
	s.mu.Lock()
	mem, off, ok := s.region(a, len(data))
	if !ok {
		s.mu.Unlock()
		s.violation("write %d bytes at %#x: outside flash and RAM", len(data), a)
		return false
	}
	if a >= s.dev.FlashStart && a < s.dev.FlashEnd {
		for i, b := range data {
			if old := mem[off+i]; old != 0xFF && old != b {
				s.mu.Unlock()
				s.violation("write at %#x: flash holds %#02x, not erased (programming error)", a+uint32(i), old)
				return false
			}
		}
	}
	copy(mem[off:], data)
	s.mu.Unlock()
	return true
}

func (s *Sim) erase(l *line) error {
	if done, err := s.refuseProtected(l, "erase"); done {
		return err
	}
	if err := l.send(ack); err != nil {
		return err
	}
	nb, err := l.next(1)
	if err != nil {
		return err
	}
	if nb[0] == 0xFF {
		return s.finishMassErase(l, 0x00, 0x00)
	}
	rest, err := l.next(int(nb[0]) + 2)
	if err != nil {
		return err
	}
	pages := make([]int, len(rest)-1)
	for i, p := range rest[:len(rest)-1] {
		pages[i] = int(p)
	}
	return s.finishErase(l, pages, nb[0]^xorOf(rest[:len(rest)-1]), rest[len(rest)-1])
}

func (s *Sim) extendedErase(l *line) error {
	if done, err := s.refuseProtected(l, "erase"); done {
		return err
	}
	if err := l.send(ack); err != nil {
		return err
	}
	hdr, err := l.next(2)
	if err != nil {
		return err
	}
	n := int(hdr[0])<<8 | int(hdr[1])
	if n >= 0xFFF0 {
		return s.finishMassErase(l, hdr[0]^hdr[1], 0)
	}
	rest, err := l.next(2*(n+1) + 1)
	if err != nil {
		return err
	}
	pages := make([]int, n+1)
	for i := range pages {
		pages[i] = int(rest[2*i])<<8 | int(rest[2*i+1])
	}
	return s.finishErase(l, pages, hdr[0]^hdr[1]^xorOf(rest[:len(rest)-1]), rest[len(rest)-1])
}

// finishMassErase reads the checksum byte of a mass erase and erases all.
func (s *Sim) finishMassErase(l *line, x, _ byte) error {
	c, err := l.next(1)
	if err != nil {
		return err
	}
	if c[0] != x {
		s.violation("mass erase: checksum %#02x, want %#02x", c[0], x)
		return l.send(nack)
	}
	all := make([]int, s.dev.PageCount())
	for i := range all {
		all[i] = i
	}
	return s.finishErase(l, all, 0, 0)
}

func (s *Sim) finishErase(l *line, pages []int, want, got byte) error {
	if got != want {
		s.violation("erase: checksum %#02x, want %#02x", got, want)
		return l.send(nack)
	}
	count := s.dev.PageCount()
	var d time.Duration
	for _, p := range pages {
		if p < 0 || p >= count {
			s.violation("erase page %d: the part has pages 0..%d", p, count-1)
			return l.send(nack)
		}
		typ, _ := s.dev.EraseTime(p)
		d += typ
	}
	if s.chance(s.opts.Faults.NACK) {
		return l.send(nack)
	}
	s.mu.Lock()
	for _, p := range pages {
		off := s.dev.PageStart(p) - s.dev.FlashStart
		for i := uint32(0); i < s.dev.PageSize(p); i++ {
			s.flash[off+i] = 0xFF
		}
	}
	s.mu.Unlock()
	if err := l.busy(d); err != nil {
		return err
	}
	if len(pages) == count {
		s.record("erase all")
	} else {
		s.record("erase %d..%d", pages[0], pages[len(pages)-1])
	}
	return l.send(ack)
}
