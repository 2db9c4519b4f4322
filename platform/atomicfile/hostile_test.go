package atomicfile

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestHostileSymlinkAtomicTarget plants the target as a symlink to a victim:
// WriteFile replaces the link with a regular file (rename acts on the
// name, never on what it points at) and the victim keeps its bytes and
// mtime. Temp files are created O_EXCL by os.CreateTemp, so a link planted
// at a temp name makes it pick another name instead of following it.
func TestHostileSymlinkAtomicTarget(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	data, mtime := []byte("root:secret:19000::::::\n"), time.Unix(1600000000, 0)
	os.WriteFile(victim, data, 0o600)
	os.Chtimes(victim, mtime, mtime)
	p := filepath.Join(dir, "state.json")
	if err := os.Symlink(victim, p); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("new"), 0o640); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o640 {
		t.Errorf("target after WriteFile: %v, %v; want a regular file, mode 0640", fi, err)
	}
	if b, _ := os.ReadFile(p); string(b) != "new" {
		t.Errorf("target = %q, want new", b)
	}
	if b, err := os.ReadFile(victim); err != nil || !bytes.Equal(b, data) {
		t.Errorf("victim = %q, %v; want it unchanged", b, err)
	}
	if fi, err := os.Stat(victim); err != nil || !fi.ModTime().Equal(mtime) {
		t.Errorf("victim mtime changed: %v, %v", fi.ModTime(), err)
	}
}

// TestSyncDirRefusesFile checks SyncDir opens only a directory (O_DIRECTORY),
// so a file or FIFO where a directory should be is an error, not a hang.
func TestSyncDirRefusesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, nil, 0o600)
	if err := SyncDir(p); err == nil {
		t.Error("SyncDir(regular file) = nil, want an error")
	}
}
