package ab

import (
	"errors"
	"os"
	"testing"
)

// NoDirectReads makes the slots opened during t read back through the
// page cache, as where O_DIRECT cannot be opened.
func NoDirectReads(t *testing.T) {
	old := openDirect
	openDirect = func(*os.File) (*os.File, error) { return nil, errors.New("no O_DIRECT in this test") }
	t.Cleanup(func() { openDirect = old })
}

// DirectFiles makes the regular-file slots opened during t read back with
// O_DIRECT, as block devices are.
func DirectFiles(t *testing.T) {
	directFiles = true
	t.Cleanup(func() { directFiles = false })
}

// WindowsMade returns the probe window buffers s allocated.
func WindowsMade(s *SlotFile) int {
	if s.skip == nil {
		return 0
	}
	return s.skip.made
}

// ReadBack returns the bytes s read back from the medium so far.
func ReadBack(s *SlotFile) int64 { return s.rb.m.read.Load() }
