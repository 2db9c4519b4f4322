// Package e2ebin builds a command of this module for an end-to-end test, as
// `make build` builds it (static, trimmed, stripped), and carries coverage
// across the process boundary: when the test binary itself runs with
// -cover, the command is built with -cover in the same mode and GOCOVERDIR
// is set to the test's -test.gocoverdir, so the counters of every run of the
// command are merged into the test's coverage figure (`go test -cover`,
// `make cover`). Without -cover the command is the plain stripped binary, so
// the benchmarks' memory figures are the shipped binary's.
//
// It is used by the end-to-end tests only (Build and ShareCoverage from
// TestMain, Run from the tests), and imports testing for testing.CoverMode.
package e2ebin

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Build compiles the command in directory pkg (e.g. "." or "../ota-agent")
// to dir/name with extra linker flags ldflags (after -s -w) and returns its
// path. Call it from TestMain after flag.Parse.
func Build(dir, name, pkg, ldflags string) (string, error) {
	out := filepath.Join(dir, name)
	args := []string{"build", "-trimpath", "-o", out, "-ldflags", "-s -w " + ldflags}
	if mode := testing.CoverMode(); mode != "" {
		args = append(args, "-cover", "-covermode", mode, "-coverpkg", "ota-agent/...")
	}
	build := exec.Command("go", append(args, pkg)...)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return out, nil
}

// ShareCoverage sets GOCOVERDIR for every child to the test binary's
// -test.gocoverdir when it runs with -cover, so a covered command writes its
// counters where the test's own go. It returns the directory ("" without
// -cover). Call it from TestMain after flag.Parse.
func ShareCoverage() (string, error) {
	if testing.CoverMode() == "" {
		return "", nil
	}
	f := flag.Lookup("test.gocoverdir")
	if f == nil || f.Value.String() == "" {
		return "", fmt.Errorf("test runs with -cover but without -test.gocoverdir; run it through go test")
	}
	dir, err := filepath.Abs(f.Value.String())
	if err != nil {
		return "", fmt.Errorf("-test.gocoverdir %s: %w", f.Value.String(), err)
	}
	return dir, os.Setenv("GOCOVERDIR", dir)
}

// Run runs cmd to its end and returns its exit status and output; it fails
// t when cmd cannot be started or waited for (a non-zero exit is a result,
// not a failure).
func Run(t testing.TB, cmd *exec.Cmd) (code int, stdout, stderr string) {
	t.Helper()
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return code, so.String(), se.String()
}
