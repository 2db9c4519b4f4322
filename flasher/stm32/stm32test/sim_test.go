package stm32test_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"ota-agent/flasher/stm32"
	"ota-agent/flasher/stm32/stm32test"
)

// streamConn feeds canned host bytes to the simulator and ends with EOF.
type streamConn struct {
	r   *bytes.Reader
	out bytes.Buffer
}

func (c *streamConn) Read(b []byte) (int, error) {
	if c.r.Len() == 0 {
		return 0, io.EOF
	}
	return c.r.Read(b[:min(len(b), 7)])
}
func (c *streamConn) Write(b []byte) (int, error)     { return c.out.Write(b) }
func (c *streamConn) SetReadDeadline(time.Time) error { return nil }

type quiet struct{}

func (quiet) Errorf(string, ...any) {}

// session is a host session in AN3155 frames, built with the host's own
// encoders: sync, get, get version, get id, erase, write, read, checksum,
// extended erase, go.
func session(ext bool) []byte {
	var b []byte
	add := func(p ...[]byte) {
		for _, x := range p {
			b = append(b, x...)
		}
	}
	add([]byte{0x7F}, stm32.EncodeCommand(0), stm32.EncodeCommand(1), stm32.EncodeCommand(2))
	if ext {
		add(stm32.EncodeCommand(0x44), stm32.EncodeExtendedErase([]int{0, 1}))
	} else {
		add(stm32.EncodeCommand(0x43), stm32.EncodeErase([]int{0, 1}))
	}
	data := bytes.Repeat([]byte{0xA5, 0x5A, 0x00, 0x11}, 64)
	add(stm32.EncodeCommand(0x31), stm32.EncodeAddress(0x08000000), stm32.EncodeData(data))
	add(stm32.EncodeCommand(0x11), stm32.EncodeAddress(0x08000000), []byte{0xFF, 0x00})
	add(stm32.EncodeCommand(0xA1), stm32.EncodeAddress(0x08000000), stm32.EncodeAddress(256))
	add(stm32.EncodeCommand(0x21), stm32.EncodeAddress(0x08000000))
	return b
}

func TestSessionStream(t *testing.T) {
	sim, err := stm32test.New(stm32test.Options{PID: 0x460, Report: t})
	if err != nil {
		t.Fatal(err)
	}
	c := &streamConn{r: bytes.NewReader(session(true))}
	if err := sim.ServeConn(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	want := []string{"sync", "get", "get-version", "get-id", "erase 0..1", "write 0x8000000+256", "read 0x8000000+256", "checksum 0x8000000+256", "go 0x8000000", "reset-app"}
	got := sim.Commands()
	if len(got) != len(want) {
		t.Fatalf("commands %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("commands %q, want %q", got, want)
		}
	}
	if !bytes.Equal(sim.Flash()[:4], []byte{0xA5, 0x5A, 0x00, 0x11}) {
		t.Errorf("flash starts % x", sim.Flash()[:4])
	}
}

func TestViolationsReported(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   []byte
	}{
		{"bad complement", []byte{0x7F, 0x00, 0x00}},
		{"bad address xor", append([]byte{0x7F, 0x11, 0xEE}, 8, 0, 0, 0, 0)},
		{"unaligned write", append(append([]byte{0x7F, 0x31, 0xCE}, stm32.EncodeAddress(0x08000001)...), stm32.EncodeData([]byte{1, 2, 3, 4})...)},
		{"unknown command", []byte{0x7F, 0x44, 0xBB}}, // F1 lists 0x43, not 0x44
	} {
		t.Run(tt.name, func(t *testing.T) {
			var rep recorder
			sim, _ := stm32test.New(stm32test.Options{Report: &rep})
			sim.ServeConn(context.Background(), &streamConn{r: bytes.NewReader(tt.in)})
			if rep.n == 0 {
				t.Errorf("no violation reported for %s", tt.name)
			}
		})
	}
}

type recorder struct{ n int }

func (r *recorder) Errorf(string, ...any) { r.n++ }

// FuzzSimFrames feeds arbitrary host bytes to the simulator: it must not
// panic or hang, and its flash keeps its size.
func FuzzSimFrames(f *testing.F) {
	f.Add(session(false), false)
	f.Add(session(true), true)
	f.Add([]byte{0x7F, 0x7F, 0x7F, 0x43, 0xBC, 0xFF, 0x00}, false)
	f.Add([]byte{0x7F, 0x44, 0xBB, 0xFF, 0xFF, 0x00, 0x92, 0x6D}, true)
	f.Fuzz(func(t *testing.T, in []byte, ext bool) {
		pid := uint16(0x410)
		if ext {
			pid = 0x413
		}
		sim, err := stm32test.New(stm32test.Options{PID: pid, Report: quiet{}})
		if err != nil {
			t.Fatal(err)
		}
		size := len(sim.Flash())
		if err := sim.ServeConn(context.Background(), &streamConn{r: bytes.NewReader(in)}); err != nil {
			t.Fatal(err)
		}
		if len(sim.Flash()) != size {
			t.Fatalf("flash is %d bytes, was %d", len(sim.Flash()), size)
		}
	})
}
