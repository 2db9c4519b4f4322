package ymodemtest

import (
	"fmt"
	"os"
	"time"

	"ota-agent/platform/serial"
	"ota-agent/platform/serial/serialtest"
)

// MasterPort is a serial.Port on a pty's master, for a host that plays
// against a device-side tool on the slave (our sender into rb --ymodem).
//
// With a baud rate its writes leave at line rate, 16 bytes at a time, as
// from a UART. That matters against lrzsz: rb flushes its input right after
// each 'C' or ACK it writes (TCIFLUSH), which on a real line is harmless
// because the reply needs at least a byte time to come back, but on a bare
// pty an instant reply is flushed away and rb waits 10 s.
type MasterPort struct {
	f     *os.File
	baud  int
	shape serialtest.Shaper
}

var _ serial.Port = (*MasterPort)(nil)

// NewMasterPort wraps p.Master; p still owns and closes it. baud paces
// writes; 0 writes at pty speed.
func NewMasterPort(p *serialtest.Pty, baud int) *MasterPort {
	m := &MasterPort{f: p.Master, baud: baud}
	m.shape.Baud = func() int { return m.baud }
	return m
}

// Read implements io.Reader.
func (m *MasterPort) Read(b []byte) (int, error) { return m.f.Read(b) }

// Write implements io.Writer, at line rate when a baud rate is set.
func (m *MasterPort) Write(b []byte) (int, error) {
	if m.baud <= 0 {
		return m.f.Write(b)
	}
	done := 0
	for done < len(b) {
		n := min(16, len(b)-done)
		t := time.NewTimer(m.shape.Delay(time.Now(), n))
		<-t.C
		w, err := m.f.Write(b[done : done+n])
		done += w
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// SetReadDeadline implements serial.Port.
func (m *MasterPort) SetReadDeadline(t time.Time) error { return m.f.SetReadDeadline(t) }

// SetBaud implements serial.Port: it changes the write pacing.
func (m *MasterPort) SetBaud(baud int) error { m.baud = baud; return nil }

// String implements serial.Port: "ptmx@115200".
func (m *MasterPort) String() string { return fmt.Sprintf("ptmx@%d", m.baud) }
