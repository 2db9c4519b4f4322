package download

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
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

// StagePath is where Stage keeps req's bytes in dir: a name derived from the
// URL so that a restarted agent finds its partial file again.
func StagePath(req Request, dir string) string {
	sum := sha256.Sum256([]byte(req.URL))
	base := "download"
	if u, err := url.Parse(req.URL); err == nil {
		if b := path.Base(u.Path); b != "." && b != "/" && b != "" {
			base = b
		}
	}
	base = strings.Map(func(r rune) rune {
		if r == '/' || r == 0 || r > 0x7e || r < 0x20 {
			return '_'
		}
		return r
	}, base)
	if len(base) > 64 {
		base = base[len(base)-64:]
	}
	return filepath.Join(dir, hex.EncodeToString(sum[:6])+"-"+strings.TrimLeft(base, "."))
}

// Stage downloads req into a file under dir (see StagePath), resuming a
// partial one, and returns its path once size and digests are verified. It
// checks free space before the first byte (NeedBytes less what is already
// there). On a digest mismatch the file is removed; when the file system
// fills up mid-way (ErrNoSpace) the file and its journal are removed, so
// nothing half-written holds the space, and the next try starts from zero.
func Stage(ctx context.Context, o Options, req Request, dir string, progress func(done, total int64)) (string, Result, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", Result{}, fmt.Errorf("staging directory: %w", err)
	}
	p := StagePath(req, dir)
	have := int64(0)
	if st, err := os.Stat(p); err == nil {
		have = st.Size()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", Result{}, err
	}
	if err := CheckSpace(dir, NeedBytes(req)-have); err != nil {
		return "", Result{}, &Error{URL: redact(req.URL), Total: req.Size, Err: err}
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
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
