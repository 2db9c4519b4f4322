package ymodem_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ota-agent/flasher"
	"ota-agent/flasher/ymodem"
	"ota-agent/flasher/ymodem/ymodemtest"
	"ota-agent/platform/serial"
	"ota-agent/platform/serial/serialtest"
)

func img(data []byte) flasher.Image {
	return flasher.Image{R: bytes.NewReader(data), Size: int64(len(data)), Name: "wifi-2.1.bin", Version: "2.1"}
}

func TestMXChipTarget(t *testing.T) {
	const n = 6000
	tests := []struct {
		name     string
		dev      ymodemtest.Options
		cfg      ymodem.TargetConfig
		wantErr  []error
		wantCmds []string
	}{
		{name: "fwupdate", wantCmds: []string{"FWUPDATE", "BOOT"}},
		{name: "partition", cfg: ymodem.TargetConfig{Command: "parupdate -id 2", Finish: "reboot"}, wantCmds: []string{"PARUPDATE -ID 2", "REBOOT"}},
		{name: "driver, stay", cfg: ymodem.TargetConfig{Command: "DRIVERUPDATE", Finish: "none"}, wantCmds: []string{"DRIVERUPDATE"}},
		{name: "erase and lost ack", dev: ymodemtest.Options{EraseBase: 300 * time.Millisecond, Faults: []ymodemtest.Fault{{Kind: ymodemtest.DropACK, Block: 2}}}, wantCmds: []string{"FWUPDATE", "BOOT"}},
		{name: "too large", dev: ymodemtest.Options{Capacity: 4096}, wantErr: []error{ymodem.ErrImageTooLarge, ymodem.ErrCanceled}, wantCmds: []string{"FWUPDATE"}},
		{name: "verify", dev: ymodemtest.Options{Faults: []ymodemtest.Fault{{Kind: ymodemtest.Verify}}}, wantErr: []error{ymodem.ErrVerifyFailed}, wantCmds: []string{"FWUPDATE"}},
		{name: "abort", dev: ymodemtest.Options{Faults: []ymodemtest.Fault{{Kind: ymodemtest.Abort, Block: 2}}}, wantErr: []error{ymodem.ErrAborted, ymodem.ErrCanceled}, wantCmds: []string{"FWUPDATE"}},
		{name: "receive failed", dev: ymodemtest.Options{Faults: corrupts(3, 6)}, wantErr: []error{ymodem.ErrReceiveFailed, ymodem.ErrCanceled}, wantCmds: []string{"FWUPDATE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := tt.dev
			opts.Mode, opts.CLI, opts.Timeout = ymodemtest.Strict, true, time.Second
			dev, p := startDevice(t, opts)
			cfg := tt.cfg
			cfg.Port, cfg.CLI, cfg.Log = p.Path, "mxchip", testLog(t)
			cfg.Options = fast(t)
			tg, err := ymodem.NewTarget(cfg)
			if err != nil {
				t.Fatal(err)
			}
			data := image(n)
			err = tg.Install(t.Context(), img(data), nil)
			for _, want := range tt.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("Install = %v, want %v", err, want)
				}
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				checkReceived(t, dev, "wifi-2.1.bin", data)
			} else {
				t.Logf("error as a field engineer sees it: %v", err)
			}
			waitCommands(t, dev, tt.wantCmds)
		})
	}
}

// waitCommands waits (bounded) for the CLI to have seen want: BOOT is typed
// last and Install does not wait for its echo.
func waitCommands(t *testing.T, dev *ymodemtest.Device, want []string) {
	t.Helper()
	for range 100 {
		if slices.Equal(dev.Commands(), want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("CLI commands = %q, want %q", dev.Commands(), want)
}

func corrupts(block, n int) []ymodemtest.Fault {
	f := make([]ymodemtest.Fault, n)
	for i := range f {
		f[i] = ymodemtest.Fault{Kind: ymodemtest.Corrupt, Block: block}
	}
	return f
}

func TestTargetNoPrompt(t *testing.T) {
	t.Parallel()
	_, p := startDevice(t, ymodemtest.Options{Mode: ymodemtest.Lenient, Timeout: time.Hour})
	tg, err := ymodem.NewTarget(ymodem.TargetConfig{Port: p.Path, CLI: "mxchip"})
	if err != nil {
		t.Fatal(err)
	}
	err = tg.Install(t.Context(), img(image(10)), nil)
	if !errors.Is(err, ymodem.ErrNoPrompt) {
		t.Fatalf("Install without a CLI = %v, want ErrNoPrompt", err)
	}
	t.Log(err)
}

func TestTargetEntry(t *testing.T) {
	t.Run("command", func(t *testing.T) {
		t.Parallel()
		dev, p := startDevice(t, ymodemtest.Options{Mode: ymodemtest.Strict, Timeout: time.Second})
		mark := filepath.Join(t.TempDir(), "entered")
		tg, err := ymodem.NewTarget(ymodem.TargetConfig{Port: p.Path, EnterCommand: []string{"sh", "-c", "echo yes > " + mark}, Options: fast(t)})
		if err != nil {
			t.Fatal(err)
		}
		data := image(2000)
		if err := tg.Install(t.Context(), img(data), nil); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(mark); err != nil || string(b) != "yes\n" {
			t.Errorf("enter_command did not run: %q, %v", b, err)
		}
		checkReceived(t, dev, "wifi-2.1.bin", data)
	})
	t.Run("failing command", func(t *testing.T) {
		t.Parallel()
		p := openPty(t)
		tg, err := ymodem.NewTarget(ymodem.TargetConfig{Port: p.Path, EnterCommand: []string{"sh", "-c", "echo no such module >&2; exit 3"}})
		if err != nil {
			t.Fatal(err)
		}
		err = tg.Install(t.Context(), img(image(10)), nil)
		if err == nil || !strings.Contains(err.Error(), "no such module") {
			t.Fatalf("Install = %v, want the command's failure with its output", err)
		}
	})
	t.Run("sequence", func(t *testing.T) {
		t.Parallel()
		dev, p := startDevice(t, ymodemtest.Options{Mode: ymodemtest.Strict, Timeout: time.Second})
		lines := &serialtest.BootLines{}
		tg, err := ymodem.NewTarget(ymodem.TargetConfig{Port: p.Path, Enter: "-rts&-dtr,dtr:rts&-dtr,dtr", Lines: lines, Options: fast(t)})
		if err != nil {
			t.Fatal(err)
		}
		data := image(3000)
		if err := tg.Install(t.Context(), img(data), nil); err != nil {
			t.Fatal(err)
		}
		checkReceived(t, dev, "wifi-2.1.bin", data)
		if got, want := lines.Toggles(), "-rts -dtr dtr rts -dtr dtr"; got != want {
			t.Errorf("line toggles = %q, want %q", got, want)
		}
	})
	t.Run("no modem lines", func(t *testing.T) {
		t.Parallel()
		p := openPty(t)
		tg, err := ymodem.NewTarget(ymodem.TargetConfig{Port: p.Path, Enter: "dtr,-dtr"})
		if err != nil {
			t.Fatal(err)
		}
		if err := tg.Install(t.Context(), img(image(10)), nil); !errors.Is(err, serial.ErrNoModemLines) {
			t.Fatalf("Install with dtr on a pty = %v, want ErrNoModemLines", err)
		}
	})
}

func TestNewTargetErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  ymodem.TargetConfig
		want string
	}{
		{"no port", ymodem.TargetConfig{}, "port is empty"},
		{"baud", ymodem.TargetConfig{Port: "/dev/ttyS2", Baud: -1}, "baud -1"},
		{"cli", ymodem.TargetConfig{Port: "/dev/ttyS2", CLI: "esp"}, `cli "esp"`},
		{"command", ymodem.TargetConfig{Port: "/dev/ttyS2", CLI: "mxchip", Command: "ERASE"}, `command "ERASE"`},
		{"partition id", ymodem.TargetConfig{Port: "/dev/ttyS2", CLI: "mxchip", Command: "PARUPDATE -id x"}, "PARUPDATE -id N"},
		{"finish", ymodem.TargetConfig{Port: "/dev/ttyS2", CLI: "mxchip", Finish: "halt"}, `finish "HALT"`},
		{"enter", ymodem.TargetConfig{Port: "/dev/ttyS2", Enter: "dtr,bogus"}, "enter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ymodem.NewTarget(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewTarget(%+v) = %v, want an error containing %q", tt.cfg, err, tt.want)
			}
		})
	}
}
