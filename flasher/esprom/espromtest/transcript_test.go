package espromtest_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ota-agent/flasher/esprom"
	"ota-agent/flasher/esprom/espromtest"
	"ota-agent/platform/serial"
	"ota-agent/platform/serial/serialtest"
)

// TestEsptoolTranscripts replays the recorded esptool v4.8.1 ROM-mode
// session (testdata/esptool-4.8.1, one file per command, in order) against
// one fresh simulator: each request esptool sent goes out as it did, and
// every reply must come back byte for byte. CI has no esptool; this is how
// it proves the simulator still answers what esptool sends.
func TestEsptoolTranscripts(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.txt"))
	if err != nil || len(files) != len(session) {
		t.Fatalf("want %d transcripts in %s, found %d (%v)", len(session), goldenDir, len(files), err)
	}
	sim := espromtest.New(espromtest.Options{Fatalf: t.Errorf})
	port := servePty(t, sim)
	for _, f := range files {
		ex := readGolden(t, f)
		t.Run(filepath.Base(f), func(t *testing.T) { replay(t, port, ex) })
	}
	img := sessionImage()
	for _, off := range []int{0x10000, 0x18000, 0x30000} {
		if !bytes.Equal(sim.Flash(off, len(img)), img) {
			t.Errorf("after the replay, flash at %#x differs from the image esptool wrote", off)
		}
	}
}

func readGolden(t *testing.T, path string) []espromtest.Exchange {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ex, err := espromtest.ReadTranscript(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return ex
}

// servePty serves sim on a fresh pty and opens the host side at 115200.
func servePty(t *testing.T, sim *espromtest.Sim) *serial.File {
	t.Helper()
	p, err := serialtest.Open("")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Serve(ctx, p) }()
	port, err := serial.Open(serial.Config{Path: p.Path, Baud: esprom.ROMBaud})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		port.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("simulator: %v", err)
		}
		p.Close()
	})
	return port
}

// replay sends each request and compares the replies that follow, then
// checks that nothing more arrives. After CHANGE_BAUDRATE it moves the port
// to the new rate, as esptool does.
func replay(t *testing.T, port *serial.File, ex []espromtest.Exchange) {
	var dec esprom.SlipDecoder
	var queue [][]byte
	for i, e := range ex {
		if _, err := port.Write(esprom.SlipEncode(e.Request)); err != nil {
			t.Fatal(err)
		}
		for j, want := range e.Replies {
			got, ok := next(port, &dec, &queue, 2*time.Second)
			if !ok {
				t.Fatalf("exchange %d (request %x): reply %d of %d missing, want %x", i+1, head(e.Request), j+1, len(e.Replies), want)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("exchange %d (request %x): reply %d\n got %x\nwant %x", i+1, head(e.Request), j+1, got, want)
			}
		}
		if len(e.Request) >= 12 && esprom.Op(e.Request[1]) == esprom.OpChangeBaudrate {
			if err := port.SetBaud(int(binary.LittleEndian.Uint32(e.Request[8:]))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got, ok := next(port, &dec, &queue, 100*time.Millisecond); ok {
		t.Errorf("unexpected reply after the last exchange: %x", got)
	}
}

// next returns the next SLIP frame from port within timeout.
func next(port *serial.File, dec *esprom.SlipDecoder, queue *[][]byte, timeout time.Duration) ([]byte, bool) {
	end := time.Now().Add(timeout)
	buf := make([]byte, 4096)
	for len(*queue) == 0 && time.Now().Before(end) {
		port.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		n, _ := port.Read(buf)
		dec.Feed(buf[:n], func(p []byte, err error) {
			if err == nil {
				*queue = append(*queue, append([]byte(nil), p...))
			}
		})
	}
	if len(*queue) == 0 {
		return nil, false
	}
	p := (*queue)[0]
	*queue = (*queue)[1:]
	return p, true
}

func head(p []byte) []byte { return p[:min(len(p), 12)] }
