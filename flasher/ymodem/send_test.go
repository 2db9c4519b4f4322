package ymodem_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"ota-agent/flasher/ymodem"
	"ota-agent/flasher/ymodem/ymodemtest"
)

// fast are sender options for a simulator whose timeout is 100 ms.
func fast(t testing.TB) ymodem.Options {
	return ymodem.Options{Timeout: 500 * time.Millisecond, StartTimeout: 5 * time.Second, Log: testLog(t).With("side", "host")}
}

func TestSendSizes(t *testing.T) {
	for _, mode := range []ymodemtest.Mode{ymodemtest.Lenient, ymodemtest.Strict} {
		for _, n := range []int{0, 1, 127, 128, 129, 1024, 1025, 1100, 1152, 1153, 3 * 1024, 5000} {
			t.Run(fmt.Sprintf("%s/%d", mode, n), func(t *testing.T) {
				t.Parallel()
				dev, p := startDevice(t, ymodemtest.Options{Mode: mode, Timeout: 100 * time.Millisecond})
				port := openHost(t, p, 115200)
				data := image(n)
				var last int64
				progress := func(done, total int64) {
					if done < last || total != int64(n) {
						t.Errorf("progress(%d, %d) after %d, want rising to %d", done, total, last, n)
					}
					last = done
				}
				if err := ymodem.Send(t.Context(), port, file("dir/fw.bin", data), fast(t), progress); err != nil {
					t.Fatal(err)
				}
				if last != int64(n) {
					t.Errorf("last progress %d, want %d", last, n)
				}
				checkReceived(t, dev, "fw.bin", data)
			})
		}
	}
}

func checkReceived(t *testing.T, dev *ymodemtest.Device, name string, data []byte) {
	t.Helper()
	files := dev.Files()
	if len(files) != 1 {
		t.Fatalf("device received %d files, want 1", len(files))
	}
	f := files[0]
	if f.Name != name || f.Size != int64(len(data)) || !bytes.Equal(f.Data, data) {
		t.Errorf("device got %q size %d (%d bytes, equal %v), want %q size %d", f.Name, f.Size, len(f.Data), bytes.Equal(f.Data, data), name, len(data))
	}
}

func TestSendFaults(t *testing.T) {
	const n = 5*1024 + 100 // blocks 1-5 of 1 KiB, block 6 a 128-byte tail
	tests := []struct {
		name    string
		mode    ymodemtest.Mode
		opts    ymodemtest.Options
		wantErr error // nil: success with exact content
	}{
		{"corrupt", ymodemtest.Strict, ymodemtest.Options{Faults: []ymodemtest.Fault{{Kind: ymodemtest.Corrupt, Block: 2}}}, nil},
		{"corrupt block 0", ymodemtest.Strict, ymodemtest.Options{Faults: []ymodemtest.Fault{{Kind: ymodemtest.Corrupt, Block: 0}}}, nil},
		{"corrupt lenient", ymodemtest.Lenient, ymodemtest.Options{Faults: []ymodemtest.Fault{{Kind: ymodemtest.Corrupt, Block: 3}}}, nil},
		{"drop byte", ymodemtest.Strict, ymodemtest.Options{Faults: []ymodemtest.Fault{{Kind: ymodemtest.Drop, Block: 4}}}, nil},
		{"drop byte lenient", ymodemtest.Lenient, ymodemtest.Options{Faults: []ymodemtest.Fault{{Kind: ymodemtest.Drop, Block: 1}}}, nil},
		{"nak", ymodemtest.Strict, ymodemtest.Options{Faults: []ymodemtest.Fault{{Kind: ymodemtest.NAK, Block: 1}, {Kind: ymodemtest.NAK, Block: 6}}}, nil},
		{"lost ack", ymodemtest.Strict, ymodemtest.Options{Faults: []ymodemtest.Fault{{Kind: ymodemtest.DropACK, Block: 2}}}, nil},
		{"lost ack of block 0", ymodemtest.Strict, ymodemtest.Options{Faults: []ymodemtest.Fault{{Kind: ymodemtest.DropACK, Block: 0}}}, nil},
		{"lost ack of last block", ymodemtest.Strict, ymodemtest.Options{Faults: []ymodemtest.Fault{{Kind: ymodemtest.DropACK, Block: 6}}}, nil},
		{"lost ack lenient", ymodemtest.Lenient, ymodemtest.Options{Faults: []ymodemtest.Fault{{Kind: ymodemtest.DropACK, Block: 3}}}, nil},
		{"nak first eot", ymodemtest.Strict, ymodemtest.Options{Faults: []ymodemtest.Fault{{Kind: ymodemtest.NAKEOT}}}, nil},
		{"short stall", ymodemtest.Strict, ymodemtest.Options{Faults: []ymodemtest.Fault{{Kind: ymodemtest.Stall, Block: 3, Stall: 700 * time.Millisecond}}}, nil},
		{"erase", ymodemtest.Strict, ymodemtest.Options{EraseBase: 600 * time.Millisecond, ErasePerKiB: 10 * time.Millisecond}, nil},
		{"stall forever", ymodemtest.Strict, ymodemtest.Options{Faults: []ymodemtest.Fault{{Kind: ymodemtest.Stall, Block: 2}}}, ymodem.ErrNoReply},
		{"abort", ymodemtest.Strict, ymodemtest.Options{Faults: []ymodemtest.Fault{{Kind: ymodemtest.Abort, Block: 3}}}, ymodem.ErrCanceled},
		{"too large", ymodemtest.Strict, ymodemtest.Options{Capacity: 4096}, ymodem.ErrCanceled},
		{"nak forever", ymodemtest.Lenient, ymodemtest.Options{Faults: naks(4, 10)}, ymodem.ErrRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := tt.opts
			opts.Mode = tt.mode
			opts.Timeout = 100 * time.Millisecond
			dev, p := startDevice(t, opts)
			port := openHost(t, p, 115200)
			data := image(n)
			sopts := fast(t)
			sopts.Retries = 5
			sopts.EraseTimeout = time.Second
			err := ymodem.Send(t.Context(), port, file("fw.bin", data), sopts, nil)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				checkReceived(t, dev, "fw.bin", data)
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Send = %v, want %v", err, tt.wantErr)
			}
			t.Logf("error as a field engineer sees it: %v", err)
			if len(dev.Files()) != 0 {
				t.Errorf("device recorded %d files after a failed transfer", len(dev.Files()))
			}
		})
	}
}

func naks(block, n int) []ymodemtest.Fault {
	f := make([]ymodemtest.Fault, n)
	for i := range f {
		f[i] = ymodemtest.Fault{Kind: ymodemtest.NAK, Block: block}
	}
	return f
}

func TestSendCancel(t *testing.T) {
	_, p := startDevice(t, ymodemtest.Options{Mode: ymodemtest.Strict, Timeout: 100 * time.Millisecond,
		Faults: []ymodemtest.Fault{{Kind: ymodemtest.Stall, Block: 2}}})
	port := openHost(t, p, 115200)
	ctx, cancel := context.WithCancelCause(t.Context())
	go func() {
		time.Sleep(300 * time.Millisecond)
		cancel(errors.New("operator stop"))
	}()
	err := ymodem.Send(ctx, port, file("fw.bin", image(8000)), ymodem.Options{Timeout: time.Minute}, nil)
	if err == nil || err.Error() == "" || !errors.Is(err, context.Cause(ctx)) {
		t.Fatalf("Send after cancel = %v, want the cancel cause", err)
	}
}

func TestSendNoReceiver(t *testing.T) {
	p := openPty(t)
	port := openHost(t, p, 115200)
	err := ymodem.Send(t.Context(), port, file("fw.bin", image(10)), ymodem.Options{StartTimeout: 200 * time.Millisecond}, nil)
	if !errors.Is(err, ymodem.ErrNoStart) {
		t.Fatalf("Send with nobody listening = %v, want ErrNoStart", err)
	}
}
