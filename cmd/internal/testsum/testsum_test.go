package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// goTestJSON runs the real go test -json on the fixture package.
func goTestJSON(t *testing.T, fail bool) []byte {
	t.Helper()
	cmd := exec.Command("go", "test", "-count=1", "-json", "./testdata/skippy")
	cmd.Env = append(os.Environ(), "SKIPPY_FAIL=0")
	if fail {
		cmd.Env = append(cmd.Env, "SKIPPY_FAIL=1")
	}
	out, err := cmd.Output()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("go test -json ./testdata/skippy: %v", err)
	}
	return out
}

// TestSummariseReal: go test -json of the fixture reads as plain go test
// would print it, then lists each skip with its reason, the parent whose
// subtests all skipped, and the count.
func TestSummariseReal(t *testing.T) {
	var w bytes.Buffer
	s, err := summarise(bytes.NewReader(goTestJSON(t, false)), &w)
	if err != nil {
		t.Fatal(err)
	}
	s.print(&w, "1")
	lines := strings.Split(strings.TrimSpace(w.String()), "\n")
	if !strings.HasPrefix(lines[0], "ok  \tota-agent/cmd/internal/testsum/testdata/skippy\t") {
		t.Errorf("first line %q, want the package's ok line", lines[0])
	}
	want := []string{
		"SKIP ota-agent/cmd/internal/testsum/testdata/skippy TestAllSkipped: passed, but all 2 subtests skipped",
		"SKIP ota-agent/cmd/internal/testsum/testdata/skippy TestAllSkipped/a: skippy_test.go:17: no a",
		"SKIP ota-agent/cmd/internal/testsum/testdata/skippy TestAllSkipped/b: skippy_test.go:17: no b",
		"SKIP ota-agent/cmd/internal/testsum/testdata/skippy TestMixed/skips: skippy_test.go:23: later",
		"SKIP ota-agent/cmd/internal/testsum/testdata/skippy TestSkip: skippy_test.go:13: no widget here",
		"skipped: 4 tests skipped, 1 passed with every subtest skipped (CI=1: a missing peer or privilege fails)",
	}
	if d := cmp.Diff(want, lines[1:]); d != "" {
		t.Errorf("summary (-want +got):\n%s", d)
	}
	if s.failed {
		t.Error("failed = true for a passing run")
	}
}

// TestSummariseFailure: a failing test's output is printed and the run
// counts as failed.
func TestSummariseFailure(t *testing.T) {
	var w bytes.Buffer
	s, err := summarise(bytes.NewReader(goTestJSON(t, true)), &w)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--- FAIL: TestFail", "printed by TestFail", "failed on purpose", "FAIL\tota-agent/cmd/internal/testsum/testdata/skippy"} {
		if !strings.Contains(w.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, w.String())
		}
	}
	if !s.failed {
		t.Error("failed = false for a failing run")
	}
}

// TestSummariseBuildFailure: a build failure is printed and fails the run.
func TestSummariseBuildFailure(t *testing.T) {
	in := `{"ImportPath":"x [x.test]","Action":"build-output","Output":"x.go:1: syntax error\n"}
{"ImportPath":"x [x.test]","Action":"build-fail"}
{"Action":"output","Package":"x","Output":"FAIL\tx [build failed]\n"}
{"Action":"fail","Package":"x"}
`
	var w bytes.Buffer
	s, err := summarise(strings.NewReader(in), &w)
	if err != nil || !s.failed || w.String() != "x.go:1: syntax error\nFAIL\tx [build failed]\n" {
		t.Errorf("summarise(build failure) = failed %v, %v, output %q", s.failed, err, w.String())
	}
}

// TestSummariseNotJSON: plain go test output is refused with the line.
func TestSummariseNotJSON(t *testing.T) {
	_, err := summarise(strings.NewReader("ok  \tx\t0.1s\n"), &bytes.Buffer{})
	if err == nil || !strings.HasPrefix(err.Error(), "line 1 is not a go test -json event") {
		t.Errorf("summarise(plain output) = %v, want a line 1 error", err)
	}
}

// FuzzSummarise: any input either decodes or is refused; never a panic,
// and print works on whatever was read.
func FuzzSummarise(f *testing.F) {
	f.Add([]byte(`{"Action":"run","Package":"p","Test":"T/a"}` + "\n" + `{"Action":"skip","Package":"p","Test":"T/a"}` + "\n" + `{"Action":"pass","Package":"p","Test":"T"}`))
	f.Add([]byte(`{"Action":"skip","Package":"p","Test":"/"}`))
	f.Add([]byte("not json\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, _ := summarise(bytes.NewReader(in), &bytes.Buffer{})
		s.print(&bytes.Buffer{}, "")
	})
}
