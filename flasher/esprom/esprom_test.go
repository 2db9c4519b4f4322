package esprom_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"log/slog"
	"math/rand"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"ota-agent/flasher/esprom"
	"ota-agent/flasher/esprom/espromtest"
	"ota-agent/platform/serial"
	"ota-agent/platform/serial/serialtest"
)

const offset = 0x10000

// firmware returns n bytes that look like an image: code-like runs that
// deflate well, with random stretches.
func firmware(n int, seed int64) []byte {
	r := rand.New(rand.NewSource(seed))
	b := make([]byte, n)
	for i := 0; i < n; {
		run := 16 + r.Intn(256)
		if r.Intn(3) == 0 {
			r.Read(b[i:min(i+run, n)])
		} else {
			v := byte(r.Intn(256))
			for j := i; j < min(i+run, n); j++ {
				b[j] = v + byte(j%4)
			}
		}
		i += run
	}
	return b
}

type rig struct {
	sim  *espromtest.Sim
	port *serial.File
}

// start serves sim on a fresh pty and opens the host side at 115200.
func start(t *testing.T, opts espromtest.Options) rig {
	t.Helper()
	opts.Log = slog.New(slog.NewTextHandler(t.Output(), nil))
	if opts.Fatalf == nil {
		opts.Fatalf = t.Errorf
	}
	sim := espromtest.New(opts)
	return rig{sim: sim, port: servePty(t, sim)}
}

// servePty serves sim on a fresh pty and opens the host side at 115200;
// both close when tb ends, and a simulator error fails it.
func servePty(tb testing.TB, sim *espromtest.Sim) *serial.File {
	tb.Helper()
	p, err := serialtest.Open("")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Serve(ctx, p) }()
	port, err := serial.Open(serial.Config{Path: p.Path, Baud: esprom.ROMBaud})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		port.Close()
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("simulator: %v", err)
		}
		p.Close()
	})
	return port
}

func (r rig) flasher(t *testing.T, cfg esprom.Config) *esprom.Flasher {
	cfg.Log = slog.New(slog.NewTextHandler(t.Output(), nil))
	if cfg.Offset == 0 {
		cfg.Offset = offset
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Second // esptool's 3 s, shortened so fault tests run quickly
	}
	return esprom.New(r.port, cfg)
}

func (r rig) check(t *testing.T, img []byte) {
	t.Helper()
	if got := r.sim.Flash(offset, len(img)); !bytes.Equal(got, img) {
		t.Fatalf("simulated flash at %#x: md5 %x, want %x", offset, md5.Sum(got), md5.Sum(img))
	}
	if r.sim.Runs() != 1 {
		t.Errorf("firmware started %d times, want 1", r.sim.Runs())
	}
}

func TestFlash1MiB(t *testing.T) {
	img := firmware(1<<20, 1)
	for _, tt := range []struct {
		name  string
		baud  int
		plain bool
	}{
		{"115200 compressed", 115200, false},
		{"921600 compressed with baud switch", 921600, false},
		{"921600 plain with baud switch", 921600, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := start(t, espromtest.Options{})
			var done, total int64
			err := r.flasher(t, esprom.Config{Chip: "esp32", Baud: tt.baud, Plain: tt.plain}).Flash(context.Background(), img, func(d, n int64) { done, total = d, n })
			if err != nil {
				t.Fatal(err)
			}
			r.check(t, img)
			if done != total || total != int64(len(img)) {
				t.Errorf("last progress %d/%d, want %d/%d", done, total, len(img), len(img))
			}
			if tt.baud != 115200 && r.port.Baud() != tt.baud {
				t.Errorf("port ended at %d baud, want %d", r.port.Baud(), tt.baud)
			}
		})
	}
}

func TestBaudFallback(t *testing.T) {
	img := firmware(64<<10, 2)
	r := start(t, espromtest.Options{MaxBaud: 115200})
	if err := r.flasher(t, esprom.Config{Baud: 921600}).Flash(context.Background(), img, nil); err != nil {
		t.Fatal(err)
	}
	r.check(t, img)
	if r.port.Baud() != 115200 {
		t.Errorf("port at %d baud after fallback, want 115200", r.port.Baud())
	}
}

func TestPlainFallbackWithoutDeflate(t *testing.T) {
	img := firmware(10_000, 3) // not a multiple of the block size: last block padded
	r := start(t, espromtest.Options{NoDeflate: true})
	if err := r.flasher(t, esprom.Config{}).Flash(context.Background(), img, nil); err != nil {
		t.Fatal(err)
	}
	r.check(t, img)
	if got := r.sim.Flash(offset+len(img), 100); !bytes.Equal(got, bytes.Repeat([]byte{0xFF}, 100)) {
		t.Errorf("padding after the image is %x, want erased 0xFF", got[:8])
	}
}

// TestCommandOrderMatchesEsptool compares our request sequence with what
// esptool sends in ROM mode for the same job (serial-protocols.md §3.4),
// data blocks collapsed since block sizes may differ. esptool's extra
// READ_REGs of eFuses and SPI registers are informational and left out.
func TestCommandOrderMatchesEsptool(t *testing.T) {
	collapse := func(ops []esprom.Op) []string {
		var out []string
		for _, op := range ops {
			s := op.String()
			if len(out) > 0 && out[len(out)-1] == s && (op == esprom.OpFlashData || op == esprom.OpFlashDeflData) {
				continue
			}
			out = append(out, s)
		}
		return out
	}
	for _, tt := range []struct {
		name string
		cfg  esprom.Config
		want []string
	}{
		{"plain at 115200 (esptool --no-stub write_flash)", esprom.Config{Plain: true}, []string{
			"GET_SECURITY_INFO", "READ_REG", "SPI_ATTACH", "SPI_SET_PARAMS",
			"FLASH_BEGIN", "FLASH_DATA", "SPI_FLASH_MD5", "FLASH_BEGIN", "FLASH_END"}},
		{"compressed at 460800 (esptool --no-stub -z --baud 460800 --after soft_reset)", esprom.Config{Baud: 460800}, []string{
			"GET_SECURITY_INFO", "READ_REG", "CHANGE_BAUDRATE", "READ_REG", "SPI_ATTACH", "SPI_SET_PARAMS",
			"FLASH_DEFL_BEGIN", "FLASH_DEFL_DATA", "SPI_FLASH_MD5", "FLASH_BEGIN", "FLASH_END"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := start(t, espromtest.Options{})
			img := firmware(64<<10, 4)
			if err := r.flasher(t, tt.cfg).Flash(context.Background(), img, nil); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, collapse(r.sim.Ops())); diff != "" {
				t.Errorf("command order (-esptool +ours):\n%s", diff)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	img := firmware(128<<10, 5)
	for _, tt := range []struct {
		name    string
		faults  espromtest.Faults
		plain   bool
		wantErr error // nil: must succeed with exact content
	}{
		{"corrupt bytes", espromtest.Faults{Seed: 1, CorruptRate: 0.05}, false, nil},
		{"corrupt bytes plain", espromtest.Faults{Seed: 2, CorruptRate: 0.05}, true, nil},
		{"dropped replies", espromtest.Faults{Seed: 3, DropRate: 0.05}, false, nil},
		{"stalls", espromtest.Faults{Seed: 4, StallRate: 0.02, Stall: 1500 * time.Millisecond}, true, nil},
		{"reset mid-transfer", espromtest.Faults{ResetAtData: 40}, false, nil},
		{"every block corrupt", espromtest.Faults{Seed: 5, CorruptRate: 1}, false, &esprom.ROMError{Op: esprom.OpFlashDeflData, Code: esprom.ErrCodeChecksum}},
		{"line dead mid-transfer", espromtest.Faults{DeadAtData: 30}, true, esprom.ErrNoReply},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := start(t, espromtest.Options{Faults: tt.faults})
			err := r.flasher(t, esprom.Config{Baud: 921600, Plain: tt.plain}).Flash(context.Background(), img, nil)
			switch want := tt.wantErr.(type) {
			case nil:
				if err != nil {
					t.Fatal(err)
				}
				r.check(t, img)
			case *esprom.ROMError:
				var re *esprom.ROMError
				if !errors.As(err, &re) || *re != *want {
					t.Fatalf("Flash = %v, want %v", err, want)
				}
				t.Logf("error as expected: %v", err)
			default:
				if !errors.Is(err, want) {
					t.Fatalf("Flash = %v, want %v", err, want)
				}
				t.Logf("error as expected: %v", err)
			}
			if tt.wantErr != nil && r.sim.Runs() != 0 {
				t.Error("firmware was started although flashing failed")
			}
		})
	}
}

func TestWrongChipAndSilence(t *testing.T) {
	r := start(t, espromtest.Options{Magic: 0xFFF0C101})
	err := r.flasher(t, esprom.Config{Chip: "esp32"}).Flash(context.Background(), firmware(4096, 6), nil)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("chip is esp8266")) {
		t.Errorf("wrong chip: %v, want an error naming esp8266", err)
	}

	p, err := serialtest.Open("") // nothing answers
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	port, err := serial.Open(serial.Config{Path: p.Path, Baud: esprom.ROMBaud})
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	err = esprom.New(port, esprom.Config{}).Flash(context.Background(), firmware(4096, 7), nil)
	if !errors.Is(err, esprom.ErrNoReply) {
		t.Errorf("silent line: %v, want ErrNoReply", err)
	}
}

func TestCancelStopsAtOnce(t *testing.T) {
	r := start(t, espromtest.Options{LineRate: true})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- r.flasher(t, esprom.Config{Plain: true}).Flash(ctx, firmware(1<<20, 8), nil)
	}()
	time.Sleep(300 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Flash after cancel = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Flash did not return after its context was cancelled")
	}
}
