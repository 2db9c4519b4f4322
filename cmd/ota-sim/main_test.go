package main_test

import (
	"crypto/md5"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"ota-agent/cmd/internal/e2ebin"
)

// bin is the ota-sim binary built once for this test run; the ota-agent
// binary the demo runs sits next to it, as `make build` leaves them.
var bin string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "ota-sim-bin-")
	if err == nil {
		_, err = e2ebin.ShareCoverage()
	}
	if err == nil {
		bin, err = e2ebin.Build(dir, "ota-sim", ".", "")
	}
	if err == nil {
		_, err = e2ebin.Build(dir, "ota-agent", "../ota-agent", "-X main.version=v9.9.9-test")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one run of a binary.
type result struct {
	code           int
	stdout, stderr string
}

// runBin runs ota-sim with args.
func runBin(t *testing.T, args ...string) result {
	t.Helper()
	return runCmd(t, exec.Command(bin, args...))
}

func runCmd(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var r result
	r.code, r.stdout, r.stderr = e2ebin.Run(t, cmd)
	return r
}

// waitFor waits up to 10 s for path to appear.
func waitFor(t *testing.T, path string) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		if _, err := os.Lstat(path); err == nil {
			return
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("%s did not appear within 10s", path)
		}
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func md5of(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// agentBin is the ota-agent built next to bin.
func agentBin() string { return filepath.Join(filepath.Dir(bin), "ota-agent") }
