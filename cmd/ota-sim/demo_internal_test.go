package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestFindAgent: --agent wins, then the ota-agent next to ota-sim, then
// $PATH; with none the error names what was tried.
func TestFindAgent(t *testing.T) {
	dir := t.TempDir()
	self := filepath.Join(dir, "ota-sim")
	next := filepath.Join(dir, "ota-agent")
	other := filepath.Join(t.TempDir(), "ota-agent")
	for _, p := range []string{other} {
		if err := os.WriteFile(p, nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	onPath := func(string) (string, error) { return "/usr/bin/ota-agent", nil }
	noPath := func(string) (string, error) { return "", errors.New("not found") }
	check := func(name, flagPath string, look func(string) (string, error), want, wantErr string) {
		t.Helper()
		got, err := findAgent(flagPath, self, look)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if got != want || gotErr != wantErr {
			t.Errorf("%s: findAgent = %q, %q; want %q, %q", name, got, gotErr, want, wantErr)
		}
	}
	check("nothing", "", noPath, "", "demo: no ota-agent binary (tried "+next+", $PATH); run `make build` (it puts both in bin/) or pass --agent PATH")
	check("path", "", onPath, "/usr/bin/ota-agent", "")
	if err := os.WriteFile(next, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	check("next to ota-sim beats $PATH", "", onPath, next, "")
	check("--agent beats both", other, onPath, other, "")
	check("--agent missing", filepath.Join(dir, "nosuch"), onPath, "", "demo: --agent "+filepath.Join(dir, "nosuch")+": stat "+filepath.Join(dir, "nosuch")+": no such file or directory")
	check("--agent a directory", dir, onPath, "", "demo: --agent "+dir+": not a regular file")
	if err := os.Chmod(next, 0o644); err != nil {
		t.Fatal(err)
	}
	check("next to ota-sim not executable", "", onPath, "/usr/bin/ota-agent", "")
}
