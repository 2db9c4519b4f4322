// Package blockdev holds the small OS facts the A/B slot writer and the
// U-Boot environment need about block devices and the regular files that
// stand in for them in tests: size (BLKGETSIZE64), logical sector size
// (BLKSSZGET), exclusive opens, mounts, and dropping the page cache so a
// read-back check reads the medium.
package blockdev

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrBusy means a block device is mounted or held open exclusively by
// someone else (EBUSY from an O_EXCL open).
var ErrBusy = errors.New("device busy (mounted or held open)")

// IsBlock reports whether fi describes a block device.
func IsBlock(fi os.FileInfo) bool {
	return fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0
}

// Size returns the capacity of f in bytes: BLKGETSIZE64 for a block device,
// the file size for a regular file.
func Size(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat %s: %w", f.Name(), err)
	}
	if !IsBlock(fi) {
		return fi.Size(), nil
	}
	var n uint64
	if err := ioctlPtr(f, unix.BLKGETSIZE64, &n); err != nil {
		return 0, fmt.Errorf("BLKGETSIZE64 %s: %w", f.Name(), err)
	}
	return int64(n), nil
}

// SectorSize returns the logical sector size of f: BLKSSZGET for a block
// device, 512 for a regular file.
func SectorSize(f *os.File) (int, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat %s: %w", f.Name(), err)
	}
	if !IsBlock(fi) {
		return 512, nil
	}
	n, err := unix.IoctlGetInt(int(f.Fd()), unix.BLKSSZGET)
	if err != nil {
		return 0, fmt.Errorf("BLKSSZGET %s: %w", f.Name(), err)
	}
	return n, nil
}

func ioctlPtr(f *os.File, req uint, n *uint64) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, fd, uintptr(req), uintptr(unsafe.Pointer(n)))
		if e != 0 {
			ierr = e
		}
	}); err != nil {
		return err
	}
	return ierr
}

// OpenExclusive opens path for writing. A block device is opened with O_EXCL,
// which the kernel refuses with EBUSY while it is mounted (or held by
// another O_EXCL opener); that error wraps ErrBusy. A regular file is opened
// as is and must exist.
func OpenExclusive(path string) (*os.File, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("slot %s: %w", path, err)
	}
	flag := os.O_RDWR
	if IsBlock(fi) {
		flag |= unix.O_EXCL
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("slot %s is a %s, want a block device or a regular file", path, fi.Mode().Type())
	}
	f, err := os.OpenFile(path, flag|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.EBUSY) {
		return nil, fmt.Errorf("open %s exclusively: %w: %w", path, ErrBusy, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return f, nil
}

// DropCache asks the kernel to forget cached pages of f in [off, off+n), so
// that the next read comes from the medium (posix_fadvise POSIX_FADV_DONTNEED).
// Dirty pages are not dropped: call it after fsync.
func DropCache(f *os.File, off, n int64) error {
	if err := unix.Fadvise(int(f.Fd()), off, n, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("fadvise DONTNEED %s: %w", f.Name(), err)
	}
	return nil
}

// DirectAlign is the alignment of buffers, offsets and lengths for a file
// opened by OpenDirect: a multiple of every logical block size.
const DirectAlign = 4096

// OpenDirect opens the file or device behind f again, for reading with
// O_DIRECT (straight from the medium: no page cache, no copy through it),
// through /proc/self/fd so that it is the same inode even if its path
// changed. It fails where O_DIRECT is not supported (tmpfs) or without
// /proc; reads must use DirectAlign-aligned buffers, offsets and lengths.
func OpenDirect(f *os.File) (*os.File, error) {
	d, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", f.Fd()), os.O_RDONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s with O_DIRECT: %w", f.Name(), err)
	}
	return d, nil
}

// AlignedBuffer returns n bytes (n a multiple of DirectAlign) whose start is
// DirectAlign-aligned, for reads from a file opened by OpenDirect.
func AlignedBuffer(n int) []byte {
	b := make([]byte, n+DirectAlign)
	skip := int(DirectAlign-uintptr(unsafe.Pointer(&b[0]))%DirectAlign) % DirectAlign
	return b[skip : skip+n : skip+n]
}

// StartWriteback starts writeback of f's dirty pages in [off, off+n) without
// waiting (sync_file_range SYNC_FILE_RANGE_WRITE). It keeps dirty memory low
// during a long write; it does not make data durable (use Fdatasync).
func StartWriteback(f *os.File, off, n int64) error {
	if err := unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE); err != nil {
		return fmt.Errorf("sync_file_range %s: %w", f.Name(), err)
	}
	return nil
}

// Fdatasync makes f's written data durable.
func Fdatasync(f *os.File) error {
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		return fmt.Errorf("fdatasync %s: %w", f.Name(), err)
	}
	return nil
}

// SameFile reports whether paths a and b name the same file or device
// (same inode, or same device number for device nodes).
func SameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false
	}
	if os.SameFile(fa, fb) {
		return true
	}
	ra, oka := rdev(fa)
	rb, okb := rdev(fb)
	return oka && okb && ra == rb
}

// rdev returns the device number of a device node.
func rdev(fi os.FileInfo) (uint64, bool) {
	st, ok := fi.Sys().(*unix.Stat_t)
	if !ok || fi.Mode()&os.ModeDevice == 0 {
		return 0, false
	}
	return st.Rdev, true
}
