package state_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ota-agent/agent/state"
	"ota-agent/internal/peertest"
	"ota-agent/platform/safefile/safefiletest"
)

// openStore opens a store on dir or fails the test.
func openStore(t *testing.T, dir string) *state.Store {
	t.Helper()
	s, err := state.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestHostileSymlinkStateLock plants <state_dir>/lock as a symlink: Lock
// refuses it by name and the victim is neither truncated nor written.
func TestHostileSymlinkStateLock(t *testing.T) {
	dir := t.TempDir()
	v := safefiletest.Plant(t, t.TempDir())
	lock := filepath.Join(dir, state.LockName)
	if err := os.Symlink(v.Path, lock); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, dir)
	err := s.Lock()
	want := "open lock: " + lock + " is a symlink; refusing to follow it; remove it (rm " + lock + ") if you did not put it there"
	if err == nil {
		s.Unlock()
		t.Error("Lock through a symlink succeeded, want an error")
	} else if err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}
	v.Check(t)
}

// TestHostileSymlinkStateLockDangling plants a link to a missing file:
// nothing is created where it points.
func TestHostileSymlinkStateLockDangling(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "created-by-root")
	if err := os.Symlink(target, filepath.Join(dir, state.LockName)); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, dir)
	if err := s.Lock(); err == nil || !strings.Contains(err.Error(), "is a symlink; refusing to follow it") {
		t.Errorf("Lock = %v, want a symlink error", err)
	}
	if _, err := os.Lstat(target); !os.IsNotExist(err) {
		t.Errorf("target %s: %v; want it never created", target, err)
	}
}

// TestHostileHardLinkStateLock plants <state_dir>/lock as a second hard
// link to a victim: Lock refuses to write the pid through it.
func TestHostileHardLinkStateLock(t *testing.T) {
	dir := t.TempDir()
	v := safefiletest.Plant(t, dir)
	lock := filepath.Join(dir, state.LockName)
	if err := os.Link(v.Path, lock); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, dir)
	err := s.Lock()
	want := "open lock: " + lock + " has 2 hard links; refusing to write through a hard link; remove it (rm " + lock + ") if you did not put it there"
	if err == nil {
		s.Unlock()
		t.Error("Lock through a hard link succeeded, want an error")
	} else if err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}
	v.Check(t)
}

// TestHostileSymlinkStateJSON plants state.json as a symlink. Load and Read
// refuse it (rather than moving it aside and starting fresh, which would
// forget a pending A/B trial), the link stays for the operator to inspect
// and the victim is untouched.
func TestHostileSymlinkStateJSON(t *testing.T) {
	dir := t.TempDir()
	v := safefiletest.Plant(t, t.TempDir())
	p := filepath.Join(dir, state.FileName)
	if err := os.Symlink(v.Path, p); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, dir)
	want := "read state: " + p + " is a symlink; refusing to follow it; remove it (rm " + p + ") if you did not put it there"
	for name, f := range map[string]func() (*state.State, error){"Read": s.Read, "Load": s.Load} {
		if st, err := f(); err == nil || err.Error() != want {
			t.Errorf("%s = %+v, %v\nwant error %q", name, st, err, want)
		}
	}
	if fi, err := os.Lstat(p); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("state.json after Load: %v, %v; want the link left in place", fi, err)
	}
	if aside, _ := filepath.Glob(p + ".*"); len(aside) != 0 {
		t.Errorf("files moved aside: %v, want none", aside)
	}
	v.Check(t)
}

// TestHostileSymlinkStateJSONSave checks that Save replaces a planted
// state.json link with a regular file instead of writing through it.
func TestHostileSymlinkStateJSONSave(t *testing.T) {
	dir := t.TempDir()
	v := safefiletest.Plant(t, t.TempDir())
	p := filepath.Join(dir, state.FileName)
	if err := os.Symlink(v.Path, p); err != nil {
		t.Fatal(err)
	}
	if err := openStore(t, dir).Save(gen(2)); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("state.json after Save: %v, %v; want a regular file", fi, err)
	}
	v.Check(t)
}

// needRoot skips a test that has to chown.
func needRoot(t *testing.T) {
	t.Helper()
	peertest.NeedRoot(t, "chowns a directory to another user")
}

// mkdirMode makes dir with exactly mode (no umask).
func mkdirMode(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
}

// refused checks Open(dir) fails with exactly want and creates nothing in
// empty, the directory the check was about.
func refused(t *testing.T, dir, empty, want string) {
	t.Helper()
	s, err := state.Open(dir, nil)
	if err == nil {
		t.Errorf("Open(%s) = %v, nil; want error %q", dir, s, want)
	} else if err.Error() != want {
		t.Errorf("Open error = %q\nwant         %q", err, want)
	}
	if ents, err := os.ReadDir(empty); err != nil || len(ents) != 0 {
		t.Errorf("%s holds %v (%v); want nothing created", empty, ents, err)
	}
}

// TestHostileStateDirOwner refuses a state_dir owned by another user.
func TestHostileStateDirOwner(t *testing.T) {
	needRoot(t)
	dir := filepath.Join(t.TempDir(), "state")
	mkdirMode(t, dir, 0o750)
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("state_dir %s is owned by uid 65534, not 0 (the agent's user); fix: chown 0 %s && chmod go-w %s", dir, dir, dir)
	refused(t, dir, dir, want)
}

// TestHostileStateDirWritable refuses a state_dir that group or others can
// write, sticky or not.
func TestHostileStateDirWritable(t *testing.T) {
	for _, c := range []struct {
		mode os.FileMode
		who  string
		oct  string
	}{
		{0o770, "group", "0770"},
		{0o757, "others", "0757"},
		{0o777, "group and others", "0777"},
		{0o777 | os.ModeSticky, "group and others", "1777"},
	} {
		t.Run(c.oct, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			mkdirMode(t, dir, c.mode)
			want := fmt.Sprintf("state_dir %s is writable by %s (mode %s); fix: chmod go-w %s", dir, c.who, c.oct, dir)
			refused(t, dir, dir, want)
		})
	}
}

// TestHostileStateDirSymlink refuses a state_dir that is a symlink to a
// directory owned by someone else, and names the target in the fix.
func TestHostileStateDirSymlink(t *testing.T) {
	needRoot(t)
	base := t.TempDir()
	target := filepath.Join(base, "theirs")
	mkdirMode(t, target, 0o755)
	if err := os.Chown(target, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "state")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("state_dir %s (a symlink to %s) is owned by uid 65534, not 0 (the agent's user); fix: chown 0 %s && chmod go-w %s", link, target, target, target)
	refused(t, link, target, want)
}

// TestHostileDownloadDirWritable refuses an existing <state_dir>/download
// that others can write.
func TestHostileDownloadDirWritable(t *testing.T) {
	dir := t.TempDir()
	dl := filepath.Join(dir, "download")
	mkdirMode(t, dl, 0o757)
	want := fmt.Sprintf("download directory %s is writable by others (mode 0757); fix: chmod go-w %s", dl, dl)
	refused(t, dir, dl, want)
}

// TestOpenStateDirAccepted checks what Open must keep accepting: a missing
// state_dir (created 0750), t.TempDir's 0700, a 0755 directory, and a
// symlink to a good directory.
func TestOpenStateDirAccepted(t *testing.T) {
	base := t.TempDir()
	fresh := filepath.Join(base, "a", "state")
	openStore(t, fresh)
	if fi, err := os.Stat(fresh); err != nil || fi.Mode().Perm() != 0o750&^umask() {
		t.Errorf("created state_dir: %v, %v; want mode %04o", fi, err, 0o750&^umask())
	}
	wide := filepath.Join(base, "wide")
	mkdirMode(t, wide, 0o755)
	link := filepath.Join(base, "link")
	os.Symlink(wide, link)
	for _, d := range []string{base, wide, link} {
		openStore(t, d)
	}
}

// umask reads the process umask from /proc without changing it.
func umask() os.FileMode {
	b, _ := os.ReadFile("/proc/self/status")
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			var m uint32
			fmt.Sscanf(strings.TrimSpace(v), "%o", &m)
			return os.FileMode(m)
		}
	}
	return 0o022
}
