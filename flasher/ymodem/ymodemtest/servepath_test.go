package ymodemtest_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ota-agent/flasher"
	"ota-agent/flasher/ymodem"
	"ota-agent/flasher/ymodem/ymodemtest"
)

// TestServePath runs the device as ota-agent simulate ymodem --pty PATH
// does, in MXChip CLI mode, and installs through the link with the target.
func TestServePath(t *testing.T) {
	link := filepath.Join(t.TempDir(), "ttyWIFI")
	ctx, cancel := context.WithCancel(t.Context())
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	done := make(chan error, 1)
	go func() {
		done <- ymodemtest.ServePath(ctx, link, ymodemtest.Options{Mode: ymodemtest.Strict, CLI: true, LineRate: true, Timeout: 200 * time.Millisecond}, log)
	}()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("ServePath = %v, want context.Canceled", err)
		}
		if _, err := os.Lstat(link); !os.IsNotExist(err) {
			t.Errorf("link %s still there after ServePath returned: %v", link, err)
		}
	}()
	for range 100 { // the link appears once the pty is up
		if _, err := os.Stat(link); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	tg, err := ymodem.NewTarget(ymodem.TargetConfig{Port: link, Baud: 921600, CLI: "mxchip", Log: log})
	if err != nil {
		t.Fatal(err)
	}
	data := image(20000)
	err = tg.Install(ctx, flasher.Image{R: bytes.NewReader(data), Size: int64(len(data)), Name: "fw.bin", Version: "1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
}
