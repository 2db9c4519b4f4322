package download

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"ota-agent/platform/safefile"
)

// FreeBytes returns the bytes an unprivileged writer may still use in the
// file system holding dir (statfs f_bavail × f_bsize).
func FreeBytes(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// CheckSpace returns an error wrapping ErrNoSpace when dir's file system has
// less than need bytes free. need ≤ 0 (unknown size) always passes.
func CheckSpace(dir string, need int64) error {
	if need <= 0 {
		return nil
	}
	free, err := FreeBytes(dir)
	if err != nil {
		return err
	}
	if free < need {
		return fmt.Errorf("%w in %s: need %d bytes, %d free; free space under state_dir or use a smaller image", ErrNoSpace, dir, need, free)
	}
	return nil
}

// StagePath is where Stage keeps the package of component in dir: named
// from the configured component, never from the URL or the server, so
// that a restarted agent finds its partial file again and a version's
// files are easy to remove.
func StagePath(dir, component string) string { return filepath.Join(dir, component+".pkg") }

// Remove deletes every file Stage, UnpackFile and the journals keep for
// component in dir: when a version ends, installed or failed, nothing of
// it stays behind.
func Remove(dir, component string) error {
	matches, err := filepath.Glob(filepath.Join(dir, component+".slot-*.journal"))
	if err != nil {
		return err
	}
	for _, ext := range []string{".pkg", ".img", ".journal"} {
		matches = append(matches, filepath.Join(dir, component+ext))
	}
	var errs []error
	for _, m := range matches {
		if err := os.Remove(m); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Stage downloads req into component's file under dir (see StagePath), resuming a
// partial one, and returns its path once size and digests are verified. It
// checks free space before the first byte (NeedBytes less what is already
// there). On a digest mismatch the file is removed; when the file system
// fills up mid-way (ErrNoSpace) the file and its journal are removed, so
// nothing half-written holds the space, and the next try starts from zero.
func Stage(ctx context.Context, o Options, req Request, dir, component string, progress func(done, total int64)) (string, Result, error) {
	if err := safefile.MkdirOwned("download directory", dir, 0o700); err != nil {
		return "", Result{}, err
	}
	p := StagePath(dir, component)
	have := int64(0)
	st, err := os.Lstat(p)
	switch {
	case err == nil && st.Mode().IsRegular():
		have = st.Size()
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return "", Result{}, err
	}
	if err := CheckSpace(dir, NeedBytes(req)-have); err != nil {
		return "", Result{}, &Error{URL: redact(req.URL), Total: req.Size, Err: err}
	}
	f, err := safefile.OpenNoFollow(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return "", Result{}, fmt.Errorf("open staging file: %w", err)
	}
	res, err := Fetch(ctx, o, req, f, progress)
	if err == nil {
		err = f.Truncate(res.Size) // drop a longer leftover from an earlier download
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", Result{}, stageFailed(err, req, dir, p)
	}
	return p, res, nil
}

// stageFailed cleans up after a failed Stage. A digest mismatch removes the
// staged file; running out of space removes it and its journal too (a full
// file system must not stay full of a partial image, and a journal without
// its data cannot be resumed) and says how much the download needs.
func stageFailed(err error, req Request, dir, p string) error {
	var de *DigestError
	if errors.As(err, &de) {
		os.Remove(p)
		return err
	}
	if !errors.Is(err, ErrNoSpace) {
		return err
	}
	os.Remove(p)
	removeJournal(req.Journal)
	need := NeedBytes(req)
	var fe *Error
	if errors.As(err, &fe) {
		need = max(need, fe.Total)
		free, _ := FreeBytes(dir)
		fe.Err = fmt.Errorf("%w; staging in %s needs %d bytes, %d free once the partial file is removed; free space under state_dir", fe.Err, dir, need, free)
	}
	return err
}
