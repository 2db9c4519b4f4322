// Package safefile opens the agent's own files (locks, state, journals,
// staged downloads) without following a symlink or writing through a hard
// link planted at the path, and checks that the directories holding them
// belong to the agent's user and that nobody else can write them.
//
// Only the last path component is protected: the directories above it are
// trusted once CheckOwnedDir has accepted them.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Sentinel errors, wrapped in errors that name the path and say what to do.
var (
	ErrSymlink    = errors.New("is a symlink; refusing to follow it")
	ErrNotRegular = errors.New("is not a regular file")
	ErrHardLink   = errors.New("refusing to write through a hard link")
)

// OpenNoFollow opens path like os.OpenFile, with O_NOFOLLOW and O_CLOEXEC
// added. It refuses a symlink (ErrSymlink), anything but a regular file
// (ErrNotRegular; a FIFO never blocks the open), and, when opening for
// writing, a file with more than one hard link (ErrHardLink). O_TRUNC is
// applied only after those checks, so a refused file is never truncated.
// A missing file gives an error matching fs.ErrNotExist.
func OpenNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	fd, err := openFd(path, flag&^os.O_TRUNC, perm)
	if err != nil {
		return nil, openError(path, err)
	}
	if err := checkOpened(fd, path, flag); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if err := finishOpen(fd, flag); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// ReadFileNoFollow reads a regular file like os.ReadFile, refusing a
// symlink or anything but a regular file as OpenNoFollow does.
func ReadFileNoFollow(path string) ([]byte, error) {
	f, err := OpenNoFollow(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

// openFd opens path non-blocking (so a planted FIFO cannot hang us),
// without following a final symlink, retrying on EINTR.
func openFd(path string, flag int, perm os.FileMode) (int, error) {
	for {
		fd, err := unix.Open(path, flag|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, uint32(perm.Perm()))
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// openError turns an open failure into one that says what is at path when
// the kernel's answer (ELOOP, ENXIO, EEXIST) hides it.
func openError(path string, err error) error {
	if err == unix.ELOOP || err == unix.ENXIO || err == unix.EEXIST {
		if fi, lerr := os.Lstat(path); lerr == nil {
			if kind := kindError(path, fi.Mode()); kind != nil {
				return kind
			}
		}
	}
	return &os.PathError{Op: "open", Path: path, Err: err}
}

// kindError refuses anything but a regular file, or returns nil.
func kindError(path string, mode os.FileMode) error {
	switch {
	case mode&os.ModeSymlink != 0:
		return fmt.Errorf("%s %w; remove it (rm %s) if you did not put it there", path, ErrSymlink, quote(path))
	case !mode.IsRegular():
		return fmt.Errorf("%s %w (%s); remove it (rm %s) if you did not put it there", path, ErrNotRegular, typeName(mode), quote(path))
	}
	return nil
}

// checkOpened refuses an opened fd that is not a regular file, or that has
// more than one link when flag opens it for writing.
func checkOpened(fd int, path string, flag int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return kindError(path, modeOf(st.Mode))
	}
	if flag&(os.O_WRONLY|os.O_RDWR) != 0 && st.Nlink > 1 {
		return fmt.Errorf("%s has %d hard links; %w; remove it (rm %s) if you did not put it there", path, st.Nlink, ErrHardLink, quote(path))
	}
	return nil
}

// finishOpen makes the checked fd blocking again and applies O_TRUNC.
func finishOpen(fd, flag int) error {
	if err := unix.SetNonblock(fd, flag&unix.O_NONBLOCK != 0); err != nil {
		return err
	}
	if flag&os.O_TRUNC != 0 {
		return unix.Ftruncate(fd, 0)
	}
	return nil
}

// modeOf maps the file-type bits of a stat mode to an os.FileMode.
func modeOf(m uint32) os.FileMode {
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		return os.ModeDir
	case unix.S_IFIFO:
		return os.ModeNamedPipe
	case unix.S_IFSOCK:
		return os.ModeSocket
	case unix.S_IFCHR:
		return os.ModeDevice | os.ModeCharDevice
	case unix.S_IFBLK:
		return os.ModeDevice
	case unix.S_IFLNK:
		return os.ModeSymlink
	}
	return 0
}

// typeName names a non-regular file type for an error message.
func typeName(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a block device"
	}
	return "a special file"
}

// quote returns path quoted for a POSIX shell when it needs it, so a fix
// command in an error message can be pasted as is.
func quote(path string) string {
	safe := func(r rune) bool {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@%,=", r)
	}
	if path != "" && strings.IndexFunc(path, func(r rune) bool { return !safe(r) }) < 0 {
		return path
	}
	return "'" + strings.ReplaceAll(path, "'", `'\''`) + "'"
}
