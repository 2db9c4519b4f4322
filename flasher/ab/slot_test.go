package ab_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ota-agent/flasher/ab"
	"ota-agent/platform/blockdev"
	"ota-agent/platform/peertest"
)

// TestReadbackRewrite writes past a periodic sync (so read-back starts during
// the write), then rewrites the start as a resume would: Verify must check
// the final bytes, not what was read back before the rewrite.
func TestReadbackRewrite(t *testing.T) {
	size := int64(ab.SyncEvery + 3<<20)
	p := filepath.Join(t.TempDir(), "slot")
	os.WriteFile(p, nil, 0o644)
	os.Truncate(p, size)
	s, err := ab.OpenSlot("B", p, size, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	img := image(7, int(size))
	if _, err := s.WriteAt(img, 0); err != nil {
		t.Fatal(err)
	}
	oldSum := sha256.Sum256(img)
	copy(img[100:], "rewritten after the read-back began")
	if _, err := s.WriteAt(img[:4096], 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(context.Background(), size, oldSum[:]); !errors.Is(err, ab.ErrVerify) {
		t.Errorf("Verify(digest before the rewrite) = %v, want ErrVerify", err)
	}
	newSum := sha256.Sum256(img)
	if err := s.Verify(context.Background(), size, newSum[:]); err != nil {
		t.Errorf("Verify(final digest) = %v", err)
	}
}

// TestLoopDevice writes a slot on a real block device: BLKGETSIZE64 gives
// the size, O_EXCL keeps a second writer out, read-back works.
func TestLoopDevice(t *testing.T) {
	peertest.NeedRoot(t, "losetup attaches a loop device")
	losetup := peertest.Need(t, "losetup", "mount")
	p := filepath.Join(t.TempDir(), "disk.img")
	os.WriteFile(p, nil, 0o644)
	os.Truncate(p, 8<<20)
	out, err := exec.Command(losetup, "-f", "--show", p).Output()
	if err != nil {
		t.Skipf("losetup: %v (no free loop device?)", err)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command(losetup, "-d", dev).Run() })
	s, err := ab.OpenSlot("B", dev, 4<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Size() != 8<<20 {
		t.Errorf("Size = %d, want %d (BLKGETSIZE64)", s.Size(), 8<<20)
	}
	if _, err := ab.OpenSlot("B", dev, 1, nil); !errors.Is(err, blockdev.ErrBusy) {
		t.Errorf("second exclusive open = %v, want ErrBusy", err)
	}
	img := image(8, 4<<20)
	s.WriteAt(img, 0)
	sum := sha256.Sum256(img)
	if err := s.Verify(context.Background(), int64(len(img)), sum[:]); err != nil {
		t.Fatal(err)
	}
}
