package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"ota-agent/flasher/ymodem/ymodemtest"
	"ota-agent/platform/atomicfile"
	"ota-agent/platform/serial/serialtest"
)

// faultList collects repeated --fault flags of simulate ymodem.
type faultList []ymodemtest.Fault

// String implements flag.Value.
func (l *faultList) String() string {
	var s []string
	for _, f := range *l {
		s = append(s, f.String())
	}
	return strings.Join(s, ",")
}

// Set implements flag.Value with ymodemtest.ParseFault.
func (l *faultList) Set(v string) error {
	f, err := ymodemtest.ParseFault(v)
	if err != nil {
		return err
	}
	*l = append(*l, f)
	return nil
}

// serveYModem runs the simulated YMODEM receiver on a pty linked at
// f.pty and prints each file it receives (name, size, SHA-256), writing it
// to f.save when set, until ctx is done.
func serveYModem(ctx context.Context, f simFlags, o ymodemtest.Options, e *env) error {
	if f.save != "" {
		if err := os.MkdirAll(f.save, 0o755); err != nil {
			return fmt.Errorf("--save %s: %w", f.save, err)
		}
	}
	p, err := serialtest.Open(f.pty)
	if err != nil {
		return err
	}
	defer p.Close()
	if o.LineRate {
		o.Baud = p.Baud
	}
	dev := ymodemtest.New(o)
	e.log.Info("simulated ymodem device ready", "port", f.pty, "pty", p.Path, "mode", o.Mode.String(), "cli", o.CLI, "faults", len(o.Faults))
	done := make(chan error, 1)
	go func() { done <- dev.Serve(ctx, p.Master) }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	seen := 0
	for {
		select {
		case err := <-done:
			_, serr := announce(dev, seen, f.save, e)
			return errors.Join(err, serr)
		case <-tick.C:
			if seen, err = announce(dev, seen, f.save, e); err != nil {
				return err
			}
		}
	}
}

// announce prints (and saves) the files received after the first seen and
// returns how many there are now.
func announce(dev *ymodemtest.Device, seen int, dir string, e *env) (int, error) {
	files := dev.Files()
	for _, fl := range files[seen:] {
		sum := sha256.Sum256(fl.Data)
		line := fmt.Sprintf("received %q: %d bytes (block 0 said %d), sha256 %s", fl.Name, len(fl.Data), fl.Size, hex.EncodeToString(sum[:]))
		if fl.Command != "" {
			line += " after " + fl.Command
		}
		if dir != "" {
			name := filepath.Base(filepath.Clean("/" + fl.Name))
			if name == "/" || name == "." {
				name = "unnamed.bin"
			}
			path := filepath.Join(dir, name)
			if err := atomicfile.WriteFile(path, fl.Data, 0o644); err != nil {
				return seen, fmt.Errorf("save %q: %w", fl.Name, err)
			}
			line += "; saved to " + path
		}
		fmt.Fprintln(e.stdout, line)
	}
	return len(files), nil
}
