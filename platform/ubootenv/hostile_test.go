package ubootenv_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ota-agent/platform/safefile/safefiletest"
	"ota-agent/platform/ubootenv"
)

// TestHostileSymlinkUBootLock plants a symlink where the env lock goes: the
// lock is refused with an error naming the path, and the file the link
// points at is neither truncated nor touched.
func TestHostileSymlinkUBootLock(t *testing.T) {
	dir := t.TempDir()
	v := safefiletest.Plant(t, dir)
	lock := filepath.Join(dir, "fw_printenv.lock")
	if err := os.Symlink(v.Path, lock); err != nil {
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
	v.Check(t)
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
	v := safefiletest.Plant(t, t.TempDir())
	l, err := ubootenv.AcquireLock(context.Background(), v.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	v.Check(t)
}
