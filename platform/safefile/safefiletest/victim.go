// Package safefiletest holds what the hostile-file tests of safefile and
// its users share: a victim file that a planted link points at.
package safefiletest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Victim is a file a planted link points at; Check fails the test when its
// bytes or mtime changed.
type Victim struct {
	Path  string
	Data  []byte
	mtime time.Time
}

// Plant writes a victim file named "victim" in dir with an mtime in the
// past, so that a write keeping the bytes still shows.
func Plant(t testing.TB, dir string) Victim {
	t.Helper()
	v := Victim{Path: filepath.Join(dir, "victim"), Data: []byte("root:secret:19000::::::\n"), mtime: time.Unix(1600000000, 0)}
	if err := os.WriteFile(v.Path, v.Data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(v.Path, v.mtime, v.mtime); err != nil {
		t.Fatal(err)
	}
	return v
}

// Check fails t when the victim's bytes or mtime changed.
func (v Victim) Check(t testing.TB) {
	t.Helper()
	b, err := os.ReadFile(v.Path)
	if err != nil || !bytes.Equal(b, v.Data) {
		t.Errorf("victim %s = %q, %v; want it unchanged (%q)", v.Path, b, err, v.Data)
	}
	if fi, err := os.Stat(v.Path); err != nil || !fi.ModTime().Equal(v.mtime) {
		t.Errorf("victim %s mtime changed: %v, %v; want %v", v.Path, fi.ModTime(), err, v.mtime)
	}
}
