package stm32_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"ota-agent/flasher"
	"ota-agent/flasher/stm32"
	"ota-agent/flasher/stm32/stm32test"
	"ota-agent/platform/serial/serialtest"
)

// install flashes img through a Target on p with fake boot lines that
// reset sim, and returns the error and the last progress seen.
func install(t *testing.T, sim *stm32test.Sim, p *serialtest.Pty, img []byte, cfg stm32.TargetConfig) ([2]int64, error) {
	t.Helper()
	cfg.Port = p.Path
	if cfg.Enter == "" {
		cfg.Enter = "-rts&-dtr,dtr:rts&-dtr,dtr"
	}
	if cfg.Lines == nil {
		cfg.Lines = &serialtest.BootLines{}
	}
	if bl, ok := cfg.Lines.(*serialtest.BootLines); ok && bl.OnReset == nil && cfg.Enter != "," {
		bl.OnReset = sim.Reset
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 150 * time.Millisecond
	}
	cfg.Log = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	tg, err := stm32.NewTarget(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var last [2]int64
	err = tg.Install(context.Background(), flasher.Image{R: bytes.NewReader(img), Size: int64(len(img)), Version: "1.2.3"},
		func(done, total int64) { last = [2]int64{done, total} })
	return last, err
}

func TestInstallClean(t *testing.T) {
	tests := []struct {
		pid    uint16
		verify string
		size   int
		want   string // a command the simulator must have served
	}{
		{0x410, "readback", 20000, "erase 0..19"},
		{0x410, "none", 1024, "erase 0..0"},
		{0x413, "readback", 70000, "erase 0..4"},
		{0x460, "checksum", 65536, "checksum 0x8000000+65536"},
		{0x410, "checksum", 3001, "read 0x8000b00+188"}, // no 0xA1 on F1: read-back
		{0x442, "readback", 4096, "erase 0..1"},
		{0x415, "", 2050, "erase 0..1"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%#03x/%s/%d", tt.pid, tt.verify, tt.size), func(t *testing.T) {
			sim, p := startSim(t, stm32test.Options{PID: tt.pid, InApp: true})
			sim.SetFlash(bytes.Repeat([]byte{0}, 300<<10)) // an old firmware everywhere
			img := image(tt.size, uint64(tt.size))
			prog, err := install(t, sim, p, img, stm32.TargetConfig{Verify: tt.verify})
			if err != nil {
				t.Fatalf("Install: %v", err)
			}
			checkFlash(t, sim.Flash(), img, 0)
			cmds := sim.Commands()
			if !slices.Contains(cmds, tt.want) {
				t.Errorf("commands %q lack %q", cmds, tt.want)
			}
			if cmds[len(cmds)-1] != "reset-app" || !sim.Running() {
				t.Errorf("last command %q, want the exit sequence to reset into the application", cmds[len(cmds)-1])
			}
			if prog[0] != prog[1] || prog[1] == 0 {
				t.Errorf("last progress %d/%d, want complete", prog[0], prog[1])
			}
		})
	}
}

func TestInstallGoWithoutExitSequence(t *testing.T) {
	sim, p := startSim(t, stm32test.Options{PID: 0x410})
	img := image(3000, 3)
	_, err := install(t, sim, p, img, stm32.TargetConfig{Enter: ",", Address: 0x08000800})
	if err != nil {
		t.Fatalf("Install: %v", err)
	}
	checkFlash(t, sim.Flash(), img, 0x800)
	if cmds := sim.Commands(); !slices.Contains(cmds, "go 0x8000800") || !sim.Running() {
		t.Errorf("commands %q, want go 0x8000800", cmds)
	}
	if fl := sim.Flash(); fl[0] != 0xFF || fl[0x7FF] != 0xFF {
		t.Error("bytes before the image were touched")
	}
}

func TestInstallAlreadySynced(t *testing.T) {
	sim, p := startSim(t, stm32test.Options{PID: 0x410})
	img := image(512, 5)
	// No entry sequence: the part stays in its bootloader, synced by the
	// first run; the second run must get NACK to its second 0x7F and go on.
	for i := 0; i < 2; i++ {
		sim.SetFlash(bytes.Repeat([]byte{0xFF}, 1024))
		_, err := install(t, sim, p, img, stm32.TargetConfig{Enter: ",", Lines: &serialtest.BootLines{}, Address: 0x08000000})
		if err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		sim.Reset(true)
		if i == 0 { // synced, not reset: simulate a session that ended without a reset
			p.Master.Write(nil)
		}
	}
	checkFlash(t, sim.Flash(), img, 0)
}

func TestInstallErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*stm32test.Sim)
		opts  stm32test.Options
		cfg   stm32.TargetConfig
		size  int
		is    error
		want  []string
	}{
		{name: "read protected", setup: func(s *stm32test.Sim) { s.SetReadProtected(true) }, size: 100,
			is: stm32.ErrReadProtected, want: []string{"flash mcu (stm32, ", "readout protection", "mass-erases"}},
		{name: "not in bootloader", opts: stm32test.Options{InApp: true}, cfg: stm32.TargetConfig{Lines: &serialtest.BootLines{BootLevel: true}}, size: 100,
			want: []string{"sync", "0x7F after 2 tries", "BOOT0"}},
		{name: "too large", opts: stm32test.Options{PID: 0x444}, size: 33 << 10, want: []string{"does not fit", "0x444"}},
		{name: "unaligned to page", cfg: stm32.TargetConfig{Address: 0x08000100}, size: 100, want: []string{"not the start of an erase unit"}},
		{name: "unknown pid", opts: stm32test.Options{PID: 0x410}, cfg: stm32.TargetConfig{Name: "radio"}, size: 0, want: []string{"flash radio", "nothing to flash"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, p := startSim(t, tt.opts)
			if tt.setup != nil {
				tt.setup(sim)
			}
			_, err := install(t, sim, p, image(tt.size, 1), tt.cfg)
			if err == nil {
				t.Fatal("Install succeeded, want an error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if sim.ReadProtected() != (tt.name == "read protected") || slices.Contains(sim.Commands(), "erase all") {
				t.Errorf("simulator was changed: commands %q", sim.Commands())
			}
		})
	}
}

func TestNewTargetRejects(t *testing.T) {
	tests := []struct {
		cfg  stm32.TargetConfig
		want string
	}{
		{stm32.TargetConfig{}, "port is empty"},
		{stm32.TargetConfig{Port: "/dev/ttyS1", Baud: 50}, "baud 50"},
		{stm32.TargetConfig{Port: "/dev/ttyS1", Enter: "cts"}, `signal "cts"`},
		{stm32.TargetConfig{Port: "/dev/ttyS1", Verify: "crc"}, `verify "crc"`},
		{stm32.TargetConfig{Port: "/dev/ttyS1", Address: 0x08000002}, "4-aligned"},
	}
	for _, tt := range tests {
		if _, err := stm32.NewTarget(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewTarget(%+v) = %v, want an error containing %q", tt.cfg, err, tt.want)
		}
	}
}

func TestInstallMissingPortAndNoModemLines(t *testing.T) {
	tg, err := stm32.NewTarget(stm32.TargetConfig{Port: "/nonexistent/ttyS9", Enter: "-rts&-dtr,dtr"})
	if err != nil {
		t.Fatal(err)
	}
	err = tg.Install(context.Background(), flasher.Image{R: bytes.NewReader([]byte{1}), Size: 1}, nil)
	if err == nil || !strings.Contains(err.Error(), "ttyS9@115200") {
		t.Errorf("Install on a missing port = %v, want an error naming ttyS9@115200", err)
	}
	p, err := serialtest.Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	tg, _ = stm32.NewTarget(stm32.TargetConfig{Port: p.Path, Enter: "-rts&-dtr,dtr"})
	err = tg.Install(context.Background(), flasher.Image{R: bytes.NewReader([]byte{1}), Size: 1}, nil)
	if err == nil || !strings.Contains(err.Error(), "no modem lines") || !strings.Contains(err.Error(), "enter_command") {
		t.Errorf("Install on a pty with a DTR/RTS sequence = %v, want the no-modem-lines error", err)
	}
}

func TestInstallEnterCommand(t *testing.T) {
	sim, p := startSim(t, stm32test.Options{PID: 0x410})
	img := image(700, 9)
	_, err := install(t, sim, p, img, stm32.TargetConfig{EnterCommand: []string{"true"}, Enter: ":"})
	if err != nil {
		t.Fatalf("Install: %v", err)
	}
	checkFlash(t, sim.Flash(), img, 0)
	_, err = install(t, sim, p, img, stm32.TargetConfig{EnterCommand: []string{"false"}})
	if err == nil || !strings.Contains(err.Error(), "enter_command") {
		t.Errorf("failing enter_command: %v", err)
	}
}

func TestInstallCancelled(t *testing.T) {
	sim, p := startSim(t, stm32test.Options{PID: 0x410, LineModel: true, Baud: 9600})
	_ = sim
	tg, err := stm32.NewTarget(stm32.TargetConfig{Port: p.Path, Baud: 9600, Enter: ","})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	img := image(60000, 4)
	started := make(chan struct{}, 1)
	go func() {
		<-started
		cancel()
	}()
	err = tg.Install(ctx, flasher.Image{R: bytes.NewReader(img), Size: int64(len(img))}, func(done, total int64) {
		select {
		case started <- struct{}{}:
		default:
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Install after cancel = %v, want context.Canceled", err)
	}
}

func TestInstallFallsBackTo115200(t *testing.T) {
	sim, p := startSim(t, stm32test.Options{PID: 0x410, MaxBaud: 115200, InApp: true})
	img := image(3000, 8)
	_, err := install(t, sim, p, img, stm32.TargetConfig{Baud: 460800})
	if err != nil {
		t.Fatalf("Install at 460800 on a part limited to 115200: %v", err)
	}
	checkFlash(t, sim.Flash(), img, 0)
	if got := p.Baud(); got != 115200 {
		t.Errorf("host ended at %d baud, want the fallback 115200", got)
	}
	sim.Reset(true)
	_, err = install(t, sim, p, img, stm32.TargetConfig{Baud: 115200, Lines: &serialtest.BootLines{BootLevel: true}})
	if err == nil || !strings.Contains(err.Error(), "sync") || strings.Contains(err.Error(), "fallback") {
		t.Errorf("sync failure at 115200 = %v, want a sync error without a fallback", err)
	}
}
