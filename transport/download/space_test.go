package download

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"ota-agent/internal/peertest"
)

// smallFS mounts an 8 MiB tmpfs and returns its directory.
func smallFS(t *testing.T) string {
	peertest.NeedRoot(t, "mounts a small tmpfs to fill it")
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", dir).CombinedOutput(); err != nil {
		if strings.Contains(strings.ToLower(string(out)), "permission denied") || strings.Contains(strings.ToLower(string(out)), "not permitted") {
			// Root in a container without CAP_SYS_ADMIN: no tool is missing,
			// the sandbox forbids mounts.
			peertest.Unavailable(t, fmt.Sprintf("mount tmpfs on %s: %v: %s", dir, err, out))
		}
		t.Fatalf("mount tmpfs on %s: %v: %s", dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// TestStageNoSpaceMidway stages a 16 MiB download whose offer understates
// its size (an estimate of 4 MiB, so the space check passes) into an 8 MiB
// file system: the file system fills up mid-way. The error must wrap
// ErrNoSpace, name the directory and the bytes needed, and nothing may be
// left behind: no partial file, no journal, the space free again.
func TestStageNoSpaceMidway(t *testing.T) {
	const size = 16 << 20
	dir := smallFS(t)
	s, req := newServer(t, size)
	req.Size, req.SizeIsEstimate = 4<<20, true
	req.Journal = filepath.Join(dir, "fw.journal") // state_dir on the same file system
	free0, err := FreeBytes(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Stage(t.Context(), testOptions(t), req, filepath.Join(dir, "staging"), "rootfs", nil)
	checkOutcome(t, err, ErrNoSpace)
	for _, want := range []string{filepath.Join(dir, "staging"), "needs " + strconv.Itoa(size) + " bytes", "write destination at offset"} {
		if err != nil && !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if s.Requests() != 1 {
		t.Errorf("server saw %d requests, want 1 (running out of space is final)", s.Requests())
	}
	checkEmpty(t, filepath.Join(dir, "staging"))
	if _, err := os.Stat(req.Journal); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal left behind: %v", err)
	}
	if free, _ := FreeBytes(dir); free < free0-64<<10 {
		t.Errorf("%d bytes free after the failure, %d before: space not given back", free, free0)
	}
}

// TestStageSpaceCheck checks that a download that cannot fit is refused
// before the first byte: an exact size, and an estimate whose 5 % margin
// does not fit.
func TestStageSpaceCheck(t *testing.T) {
	dir := smallFS(t)
	for _, tt := range []struct {
		name     string
		size     int64
		estimate bool
		need     int64
	}{
		{"exact", 16 << 20, false, 16 << 20},
		{"estimate plus 5 percent", 8 << 20, true, 8<<20 + 8<<20/20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, req := newServer(t, tt.size)
			req.Size, req.SizeIsEstimate = tt.size, tt.estimate
			req.Journal = filepath.Join(dir, "fw.journal")
			staging := filepath.Join(dir, "staging")
			_, _, err := Stage(t.Context(), testOptions(t), req, staging, "rootfs", nil)
			checkOutcome(t, err, ErrNoSpace)
			if want := "in " + staging + ": need " + strconv.FormatInt(tt.need, 10) + " bytes"; err != nil && !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
			if n := s.Requests(); n != 0 {
				t.Errorf("server saw %d requests, want none", n)
			}
			checkEmpty(t, staging)
		})
	}
}

func checkEmpty(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("left in %s: %s", dir, e.Name())
	}
}
