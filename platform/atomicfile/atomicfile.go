// Package atomicfile replaces files so that a power cut at any instant
// leaves either the old content or the new, never a mix: write a temp file
// in the same directory, fsync it, rename it over the target, then fsync
// the directory. The last step is the one tailscale's atomicfile leaves out;
// SD cards and eMMC lose the rename without it.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// WriteFile replaces path with data, with the given permission bits.
func WriteFile(path string, data []byte, mode os.FileMode) error {
	return Replace(path, mode, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// Replace replaces path with what fill writes into a temp file next to it.
// If fill or any step before the rename fails, path is untouched and the
// temp file removed. The temp file is created O_EXCL (os.CreateTemp) and
// the rename replaces the name, so a symlink planted at path or at a temp
// name is never written through.
func Replace(path string, mode os.FileMode, fill func(f *os.File) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w; check free space and permissions on %s", path, err, dir)
	}
	tmp := f.Name()
	err = fill(f)
	if err == nil {
		err = f.Chmod(mode.Perm())
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return SyncDir(dir)
}

// SyncDir fsyncs a directory, making renames and creations in it durable.
// It opens dir with O_DIRECTORY, so anything else there is an error.
func SyncDir(dir string) error {
	d, err := os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open directory %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}
