package ab_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ota-agent/flasher/ab"
	"ota-agent/internal/peertest"
	"ota-agent/platform/blockdev"
)

// TestReadbackRewrite writes past a periodic sync (so the read-back starts
// during the write), then rewrites the start as a resume would: Verify and
// VerifyWritten must check the final bytes, not what was read back before
// the rewrite, so VerifyWritten falls back to the full SHA-256 read-back.
func TestReadbackRewrite(t *testing.T) {
	ab.DirectFiles(t)
	size := int64(ab.SyncEvery + 3<<20)
	for _, written := range []bool{false, true} {
		for _, final := range []bool{false, true} {
			s, _, by := verifiedBy(t, size)
			verify, name := s.Verify, "Verify"
			if written {
				verify, name = s.VerifyWritten, "VerifyWritten"
			}
			img := image(7, int(size))
			if _, err := s.WriteAt(img, 0); err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(img) // the digest before the rewrite
			copy(img[100:], "rewritten after the read-back began")
			if _, err := s.WriteAt(img[:4096], 0); err != nil {
				t.Fatal(err)
			}
			if !final {
				if err := verify(context.Background(), size, sum[:]); !errors.Is(err, ab.ErrVerify) {
					t.Errorf("%s(digest before the rewrite) = %v, want ErrVerify", name, err)
				}
				continue
			}
			sum = sha256.Sum256(img)
			if err := verify(context.Background(), size, sum[:]); err != nil || by() != "true by=sha256" {
				t.Errorf("%s(final digest) = %v with direct=%s, want nil with direct=true by=sha256", name, err, by())
			}
		}
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
		peertest.Unavailable(t, fmt.Sprintf("losetup: %v (no free loop device?)", err))
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command(losetup, "-d", dev).Run() })
	var logged bytes.Buffer
	s, err := ab.OpenSlot("B", dev, 4<<20, slog.New(slog.NewTextHandler(&logged, nil)))
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
	img := image(8, 4<<20+5000) // the last O_DIRECT read is rounded up
	s.WriteAt(img, 0)
	sum := sha256.Sum256(img)
	if err := s.VerifyWritten(context.Background(), int64(len(img)), sum[:]); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logged.String(), "direct=true") {
		t.Errorf("a block device was not read back with O_DIRECT: %s", logged.String())
	}
	if err := s.Verify(context.Background(), int64(len(img)), sum[:]); err != nil {
		t.Fatal(err)
	}
	wrong := sha256.Sum256(img[1:])
	if err := s.Verify(context.Background(), int64(len(img)), wrong[:]); !errors.Is(err, ab.ErrVerify) {
		t.Fatalf("Verify(wrong digest) = %v, want ErrVerify", err)
	}
}

// verifiedBy opens a file slot of size bytes that logs to a buffer, and
// returns a function that gives how the last verify checked it (the
// "direct" and "by" of its "slot verified" line).
func verifiedBy(t *testing.T, size int64) (*ab.SlotFile, string, func() string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "slot")
	if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	s, err := ab.OpenSlot("B", p, size, slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, p, func() string {
		_, by, _ := strings.Cut(logged.String(), "direct=")
		by, _, _ = strings.Cut(by, "\n")
		return by
	}
}

// TestVerifyWrittenBlocks: a slot written in order is checked against the
// CRC of each block as written, most of it read back during the writing,
// and a byte changed on the medium after the write is named by its block.
// The read-back reads with O_DIRECT, or through the page cache (dropped
// first) where O_DIRECT cannot be opened.
func TestVerifyWrittenBlocks(t *testing.T) {
	t.Run("O_DIRECT", func(t *testing.T) {
		ab.DirectFiles(t)
		verifyWrittenBlocks(t, "true")
	})
	t.Run("page cache", func(t *testing.T) {
		ab.DirectFiles(t)
		ab.NoDirectReads(t)
		verifyWrittenBlocks(t, "false")
	})
	t.Run("a regular file", func(t *testing.T) { verifyWrittenBlocks(t, "false") })
}

func verifyWrittenBlocks(t *testing.T, direct string) {
	size := int64(ab.SyncEvery + 3<<20 + 5000) // sync steps run, a partial last block
	for _, tc := range []struct {
		name    string
		corrupt int64 // -1: none
		want    string
	}{
		{"intact", -1, ""},
		{"last partial block", size - 4000, fmt.Sprintf("block at %#x", size-5000)}, // its whole page went straight to the file
		{"first block", 5, "block at 0x0 "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, p, by := verifiedBy(t, size)
			img := image(11, int(size))
			for off := int64(0); off < size; off += 1 << 20 {
				end := min(off+1<<20, size)
				if _, err := s.WriteAt(img[off:end], off); err != nil {
					t.Fatal(err)
				}
				if off <= tc.corrupt && tc.corrupt < end { // the medium keeps another byte
					corruptByte(t, p, tc.corrupt)
				}
			}
			sum := sha256.Sum256(img)
			err := s.VerifyWritten(context.Background(), size, sum[:])
			if tc.corrupt < 0 {
				if want := direct + ` by="crc32c of each block as written"`; err != nil || by() != want {
					t.Fatalf("VerifyWritten = %v, verified with direct=%s; want nil, direct=%s", err, by(), want)
				}
				return
			}
			if !errors.Is(err, ab.ErrVerify) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("VerifyWritten after a byte at %#x changed = %v, want ErrVerify naming %q", tc.corrupt, err, tc.want)
			}
		})
	}
}

// corruptByte flips the byte at off of the slot file at p, as a failing
// medium would: a sync step runs only every 8 MiB written, so the
// read-back has not read it yet.
func corruptByte(t *testing.T, p string, off int64) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x5a
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestSkipUnchanged writes an image over a slot holding one that differs in
// a few blocks: the equal blocks are not written (compared with the slot
// read with O_DIRECT), probing pauses 8 MiB after four differing blocks in
// a row, and the slot ends up holding the new image, verified. A wholly new
// image costs two probe windows.
func TestSkipUnchanged(t *testing.T) {
	ab.DirectFiles(t)
	const block = 256 << 10
	size := int64(80*block + 5000)
	old := image(21, int(size))
	changed := slices.Clone(old)
	changed[3*block+7] ^= 1                      // block 3
	for i := 40 * block; i < 48*block; i += 99 { // blocks 40-47
		changed[i] ^= 0xff
	}
	changed[size-1] ^= 1 // the partial last block
	// 4 differing blocks at 0, 4, 8... MiB in: a pause after each, a
	// prefetched window wasted at each resume
	everyFour := slices.Clone(old)
	for b := 0; b < 80; b += 16 {
		for i := b * block; i < (b+4)*block; i += 512 {
			everyFour[i] ^= 0x55
		}
	}
	for _, tc := range []struct {
		name            string
		img             []byte
		skipped, probed int64
	}{
		// equal: 0-2, 4-39 (then 40-43 differ: pause to block 76), 76-79
		{"a few blocks changed", changed, 43 * block, (3 + 1 + 36 + 4 + 4) * block},
		{"all new", image(22, int(size)), 0, 2 << 20},
		{"a change every 4 MiB", everyFour, 0, 0}, // skipped and probed not checked
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, p, by := verifiedBy(t, size)
			if err := os.WriteFile(p, old, 0o644); err != nil {
				t.Fatal(err)
			}
			if !s.SkipUnchanged() {
				t.Fatal("SkipUnchanged = false on a slot read with O_DIRECT")
			}
			for off := int64(0); off < size; off += block {
				if _, err := s.WriteAt(tc.img[off:min(off+block, size)], off); err != nil {
					t.Fatal(err)
				}
			}
			sum := sha256.Sum256(tc.img)
			if err := s.VerifyWritten(context.Background(), size, sum[:]); err != nil || !strings.Contains(by(), "crc32c") {
				t.Fatalf("VerifyWritten = %v (%s)", err, by())
			}
			skipped, probed := s.Unchanged()
			if tc.probed > 0 && (skipped != tc.skipped || probed != tc.probed) { // probed 0: not counted
				t.Errorf("Unchanged = %d skipped, %d probed; want %d, %d", skipped/block, probed/block, tc.skipped/block, tc.probed/block)
			}
			if n := ab.WindowsMade(s); n > 2 {
				t.Errorf("%d probe windows allocated, want at most 2 (reused)", n)
			}
			if rb, want := ab.ReadBack(s), size-skipped; rb < want || rb > want+4096 {
				t.Errorf("read back %d bytes, want the %d written (kept blocks were read when compared)", rb, want)
			}
			if got, _ := os.ReadFile(p); !bytes.Equal(got, tc.img) {
				t.Error("slot differs from the image")
			}
		})
	}
	t.Run("rewritten back", func(t *testing.T) {
		// block 0 written with new bytes, then with the old ones again (a
		// resume rewrites): the window read before the first write still
		// holds the old bytes, the slot does not, so the rewrite is written.
		s, p, _ := verifiedBy(t, size)
		if err := os.WriteFile(p, old, 0o644); err != nil {
			t.Fatal(err)
		}
		s.SkipUnchanged()
		if _, err := s.WriteAt(changed[:block], 0); err != nil { // equal: kept
			t.Fatal(err)
		}
		other := image(23, block)
		for _, b := range [][]byte{other, old[:block]} {
			if _, err := s.WriteAt(b, 0); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Sync(); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(p); !bytes.Equal(got[:block], old[:block]) {
			t.Error("block 0 holds the bytes written before the rewrite: the rewrite was skipped against a stale window")
		}
	})
	t.Run("no O_DIRECT", func(t *testing.T) {
		ab.NoDirectReads(t)
		s, _, _ := verifiedBy(t, size)
		if s.SkipUnchanged() {
			t.Error("SkipUnchanged = true without O_DIRECT reads (it would compare with the page cache)")
		}
	})
}

// newFileSlot makes a sparse file slot of size bytes and opens it.
func newFileSlot(t *testing.T, size int64) (*ab.SlotFile, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "slot")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, size); err != nil {
		t.Fatal(err)
	}
	s, err := ab.OpenSlot("B", p, size, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, p
}

// TestWriteShapes writes one image in every shape WriteAt meets (odd
// sizes, whole pages at aligned offsets that go straight through, pieces
// straddling chunk ends, runs longer than the sync cadence so the read-back
// runs during the writes) and checks the file and the read-back.
func TestWriteShapes(t *testing.T) {
	size := int64(ab.SyncEvery + 5<<20 + 777)
	s, p := newFileSlot(t, size+4096)
	defer s.Close()
	img := image(9, int(size))
	pieces := []int{1, 4095, 4096 * 3, 256 << 10, 1<<20 + 5, ab.ChunkSize, 12345, 8 << 20, 64 << 10}
	for off, i := 0, 0; off < len(img); i++ {
		n := min(pieces[i%len(pieces)], len(img)-off)
		if m, err := s.WriteAt(img[off:off+n], int64(off)); err != nil || m != n {
			t.Fatalf("WriteAt(%d bytes at %d) = %d, %v", n, off, m, err)
		}
		off += n
	}
	wrong := sha256.Sum256(img[1:])
	sum := sha256.Sum256(img)
	if err := s.VerifyWritten(context.Background(), size, sum[:]); err != nil {
		t.Errorf("VerifyWritten = %v", err)
	}
	if err := s.Verify(context.Background(), size, wrong[:]); !errors.Is(err, ab.ErrVerify) {
		t.Errorf("Verify(wrong digest) = %v, want ErrVerify", err)
	}
	if err := s.Verify(context.Background(), size, sum[:]); err != nil {
		t.Errorf("Verify = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[:size], img) {
		t.Error("slot file differs from the image")
	}
}

// TestOutOfOrderWrites writes the second half before the first (a gap in
// the prefix while syncs and read-back run): Verify must still check every
// byte and pass, and a short Verify must check only its prefix.
func TestOutOfOrderWrites(t *testing.T) {
	size := int64(2*ab.SyncEvery + 3)
	s, _ := newFileSlot(t, size)
	defer s.Close()
	img := image(10, int(size))
	half := size / 2
	if _, err := s.WriteAt(img[half:], half); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteAt(img[:half], 0); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(img)
	if err := s.Verify(context.Background(), size, sum[:]); err != nil {
		t.Errorf("Verify = %v", err)
	}
	part := sha256.Sum256(img[:4096])
	if err := s.Verify(context.Background(), 4096, part[:]); err != nil {
		t.Errorf("Verify(first page) = %v", err)
	}
}

// TestVerifyCancelled: a cancelled context never yields a verified slot.
func TestVerifyCancelled(t *testing.T) {
	size := int64(ab.SyncEvery)
	s, _ := newFileSlot(t, size)
	defer s.Close()
	img := image(11, int(size))
	if _, err := s.WriteAt(img, 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sum := sha256.Sum256(img)
	if err := s.Verify(ctx, size, sum[:]); !errors.Is(err, context.Canceled) {
		t.Errorf("Verify(cancelled) = %v, want context.Canceled", err)
	}
}

// TestCloseMidWrite closes a slot while fdatasync and read-back are in
// flight: Close waits for them, and what was written is in the file.
func TestCloseMidWrite(t *testing.T) {
	size := int64(ab.SyncEvery + 1<<20)
	s, p := newFileSlot(t, size)
	img := image(12, int(size))
	for off := 0; off < len(img); off += 256 << 10 {
		if _, err := s.WriteAt(img[off:min(off+256<<10, len(img))], int64(off)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, img) {
		t.Error("slot file differs from what was written before Close")
	}
}
