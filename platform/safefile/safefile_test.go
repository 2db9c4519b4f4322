package safefile_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ota-agent/platform/safefile"
	"ota-agent/platform/safefile/safefiletest"
)

// flags are the ways the agent opens its files.
var flags = map[string]int{
	"read":        os.O_RDONLY,
	"lock":        os.O_WRONLY | os.O_CREATE,
	"state lock":  os.O_RDWR | os.O_CREATE,
	"truncate":    os.O_RDWR | os.O_CREATE | os.O_TRUNC,
	"exclusive":   os.O_WRONLY | os.O_CREATE | os.O_EXCL,
	"append":      os.O_WRONLY | os.O_APPEND,
	"nonblocking": os.O_RDONLY | unix.O_NONBLOCK,
}

// TestHostileSymlinkOpenNoFollow plants a symlink to a victim and opens it
// every way the agent does: each is refused with the same message and the
// victim keeps its bytes and mtime.
func TestHostileSymlinkOpenNoFollow(t *testing.T) {
	for name, flag := range flags {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			v := safefiletest.Plant(t, dir)
			p := filepath.Join(dir, "link")
			os.Symlink(v.Path, p)
			f, err := safefile.OpenNoFollow(p, flag, 0o600)
			want := p + " is a symlink; refusing to follow it; remove it (rm " + p + ") if you did not put it there"
			if err == nil {
				f.Close()
				t.Error("opened through a symlink, want an error")
			} else if err.Error() != want || !errors.Is(err, safefile.ErrSymlink) {
				t.Errorf("error = %q\nwant    %q (ErrSymlink)", err, want)
			}
			v.Check(t)
		})
	}
}

// TestHostileSymlinkDangling plants a link to a missing file: opening it
// with O_CREATE creates nothing at the target.
func TestHostileSymlinkDangling(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	p := filepath.Join(dir, "link")
	os.Symlink(target, p)
	for name, flag := range flags {
		if f, err := safefile.OpenNoFollow(p, flag, 0o600); !errors.Is(err, safefile.ErrSymlink) {
			f.Close()
			t.Errorf("%s: error = %v, want ErrSymlink", name, err)
		}
	}
	if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("target: %v, want it never created", err)
	}
}

// TestHostileHardLinkTruncate plants a second hard link to a victim:
// opening it to write (even with O_TRUNC) is refused before anything is
// truncated; reading it is allowed.
func TestHostileHardLinkTruncate(t *testing.T) {
	dir := t.TempDir()
	v := safefiletest.Plant(t, dir)
	p := filepath.Join(dir, "link")
	if err := os.Link(v.Path, p); err != nil {
		t.Fatal(err)
	}
	f, err := safefile.OpenNoFollow(p, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	want := p + " has 2 hard links; refusing to write through a hard link; remove it (rm " + p + ") if you did not put it there"
	if err == nil {
		f.Close()
		t.Error("opened a hard link for writing, want an error")
	} else if err.Error() != want || !errors.Is(err, safefile.ErrHardLink) {
		t.Errorf("error = %q\nwant    %q (ErrHardLink)", err, want)
	}
	v.Check(t)
	if b, err := safefile.ReadFileNoFollow(p); err != nil || !bytes.Equal(b, v.Data) {
		t.Errorf("ReadFileNoFollow(hard link) = %q, %v; want the bytes", b, err)
	}
}

// TestHostileFIFO plants a FIFO (and a directory) where a file goes: the
// open is refused at once instead of blocking for a writer or reader.
func TestHostileFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, flag := range flags {
		done := make(chan error, 1)
		go func() {
			f, err := safefile.OpenNoFollow(fifo, flag, 0o600)
			f.Close()
			done <- err
		}()
		select {
		case err := <-done:
			want := fifo + " is not a regular file (a FIFO); remove it (rm " + fifo + ") if you did not put it there"
			if err == nil || err.Error() != want || !errors.Is(err, safefile.ErrNotRegular) {
				t.Errorf("%s: error = %v\nwant %q", name, err, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: open of a FIFO still blocked after 10s", name)
		}
	}
	if _, err := safefile.ReadFileNoFollow(dir); !errors.Is(err, safefile.ErrNotRegular) {
		t.Errorf("ReadFileNoFollow(directory) = %v, want ErrNotRegular", err)
	}
}

// TestOpenNoFollowRegular checks the ordinary cases: a missing file is
// fs.ErrNotExist, O_CREATE creates it, O_TRUNC truncates, and the file
// handed back is blocking.
func TestOpenNoFollowRegular(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if _, err := safefile.ReadFileNoFollow(p); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFileNoFollow(missing) = %v, want fs.ErrNotExist", err)
	}
	os.WriteFile(p, []byte("old content"), 0o600)
	f, err := safefile.OpenNoFollow(p, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	fl, _ := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	f.WriteString("new")
	f.Close()
	if fl&unix.O_NONBLOCK != 0 {
		t.Error("file handed back is non-blocking")
	}
	if b, err := safefile.ReadFileNoFollow(p); err != nil || string(b) != "new" {
		t.Errorf("after O_TRUNC and write: %q, %v; want new", b, err)
	}
}

// TestCheckOwnedDirQuotes checks the fix command survives a path that
// needs shell quoting.
func TestCheckOwnedDirQuotes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "it's here")
	os.Mkdir(dir, 0o700)
	os.Chmod(dir, 0o775)
	err := safefile.CheckOwnedDir("state_dir", dir)
	q := "'" + filepath.Dir(dir) + `/it'\''s here'`
	want := fmt.Sprintf("state_dir %s is writable by group (mode 0775); fix: chmod go-w %s", dir, q)
	if err == nil || err.Error() != want {
		t.Errorf("CheckOwnedDir = %v\nwant %q", err, want)
	}
	if err := safefile.MkdirOwned("state_dir", filepath.Join(dir, "a", "b"), 0o750); err != nil {
		t.Errorf("MkdirOwned = %v, want nil", err)
	}
	if err := safefile.CheckOwnedDir("state_dir", filepath.Join(dir, "a", "b", "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("CheckOwnedDir(missing) = %v, want fs.ErrNotExist", err)
	}
}
