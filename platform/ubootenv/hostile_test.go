package ubootenv_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ota-agent/platform/ubootenv"
)

// victim is a file a planted link points at; check fails the test when its
// bytes or mtime changed.
type victim struct {
	path  string
	data  []byte
	mtime time.Time
}

// plantVictim writes a victim file with an mtime in the past, so a write
// that keeps the bytes still shows.
func plantVictim(t *testing.T, dir string) victim {
	t.Helper()
	v := victim{path: filepath.Join(dir, "victim"), data: []byte("root:secret:19000::::::\n"), mtime: time.Unix(1600000000, 0)}
	if err := os.WriteFile(v.path, v.data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(v.path, v.mtime, v.mtime); err != nil {
		t.Fatal(err)
	}
	return v
}

func (v victim) check(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(v.path)
	if err != nil || !bytes.Equal(b, v.data) {
		t.Errorf("victim %s = %q, %v; want it unchanged (%q)", v.path, b, err, v.data)
	}
	if fi, err := os.Stat(v.path); err != nil || !fi.ModTime().Equal(v.mtime) {
		t.Errorf("victim %s mtime changed: %v, %v; want %v", v.path, fi.ModTime(), err, v.mtime)
	}
}

// TestHostileSymlinkUBootLock plants a symlink where the env lock goes: the
// lock is refused with an error naming the path, and the file the link
// points at is neither truncated nor touched.
func TestHostileSymlinkUBootLock(t *testing.T) {
	dir := t.TempDir()
	v := plantVictim(t, dir)
	lock := filepath.Join(dir, "fw_printenv.lock")
	if err := os.Symlink(v.path, lock); err != nil {
		t.Fatal(err)
	}
	l, err := ubootenv.AcquireLock(context.Background(), lock)
	want := "env lock: " + lock + " is a symlink; refusing to follow it; remove it (rm " + lock + ") if you did not put it there"
	if err == nil {
		l.Unlock()
		t.Error("AcquireLock through a symlink succeeded, want an error")
	} else if err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}
	v.check(t)
}

// TestHostileSymlinkUBootLockDangling plants a link to a file that does not
// exist yet: nothing is created at the target.
func TestHostileSymlinkUBootLockDangling(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "created-by-root")
	lock := filepath.Join(dir, "fw_printenv.lock")
	if err := os.Symlink(target, lock); err != nil {
		t.Fatal(err)
	}
	l, err := ubootenv.AcquireLock(context.Background(), lock)
	if err == nil {
		l.Unlock()
		t.Error("AcquireLock through a dangling symlink succeeded, want an error")
	} else if !strings.Contains(err.Error(), "is a symlink; refusing to follow it") {
		t.Errorf("error = %q, want it to say the lock is a symlink", err)
	}
	if _, err := os.Lstat(target); !os.IsNotExist(err) {
		t.Errorf("target %s: %v; want it never created", target, err)
	}
}

// TestHostileUBootLockKeepsContent checks the lock is never truncated on
// open: a regular lock file keeps its bytes and mtime.
func TestHostileUBootLockKeepsContent(t *testing.T) {
	v := plantVictim(t, t.TempDir())
	l, err := ubootenv.AcquireLock(context.Background(), v.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	v.check(t)
}
