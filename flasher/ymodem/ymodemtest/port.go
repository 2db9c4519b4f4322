package ymodemtest

import (
	"os"
	"time"

	"ota-agent/platform/serial"
	"ota-agent/platform/serial/serialtest"
)

// MasterPort is a serial.Port on a pty's master, for a host that plays
// against a device tool on the slave (our sender into rb --ymodem). The
// master has no line settings: SetBaud only records the rate.
type MasterPort struct {
	f    *os.File
	baud int
}

var _ serial.Port = (*MasterPort)(nil)

// NewMasterPort wraps p.Master; p still owns and closes it.
func NewMasterPort(p *serialtest.Pty) *MasterPort { return &MasterPort{f: p.Master, baud: 115200} }

// Read implements io.Reader.
func (m *MasterPort) Read(b []byte) (int, error) { return m.f.Read(b) }

// Write implements io.Writer.
func (m *MasterPort) Write(b []byte) (int, error) { return m.f.Write(b) }

// SetReadDeadline implements serial.Port.
func (m *MasterPort) SetReadDeadline(t time.Time) error { return m.f.SetReadDeadline(t) }

// SetBaud implements serial.Port; a pty master has no rate of its own.
func (m *MasterPort) SetBaud(baud int) error { m.baud = baud; return nil }

// String implements serial.Port.
func (m *MasterPort) String() string { return "ptmx" }
