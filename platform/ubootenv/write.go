package ubootenv

import (
	"fmt"
	"os"
	"ota-agent/platform/atomicfile"
	"path/filepath"
	"strings"
)

// write stores vars after read returned st.
func (s *Store) write(st *state, vars map[string]string) error {
	for _, d := range s.cfg.Devices {
		if strings.HasPrefix(d.Path, "/dev/mtd") || strings.HasPrefix(d.Path, "/dev/ubi") {
			return fmt.Errorf("%s: %w; use fw_setenv for flash-backed environments", s, ErrUnsupportedDevice)
		}
	}
	if !s.cfg.Redundant() {
		return s.writeSingle(s.cfg.Devices[0], vars)
	}
	return s.writeRedundant(st, vars)
}

func (s *Store) writeSingle(d Device, vars map[string]string) error {
	buf, err := EncodeCopy(vars, int(d.Size), false, 0, s.opt.Pad)
	if err != nil {
		return fmt.Errorf("%s: %w", s, err)
	}
	if ok, path := wholeFile(d); ok {
		err = replaceFile(path, buf)
	} else {
		err = writeAt(d, buf, 0)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", s, err)
	}
	s.log.Info("u-boot env stored", "device", d.Path, "vars", len(vars))
	return nil
}

// writeRedundant writes the inactive copy with the next flag; for the
// Boolean scheme it then clears the old copy's flag to obsolete.
func (s *Store) writeRedundant(st *state, vars map[string]string) error {
	target, flag := 0, FlagActive
	if st.err == nil {
		target = 1 - st.active
		flag = NextFlag(s.opt.Scheme, st.copies[st.active].Flag)
	}
	d := s.cfg.Devices[target]
	buf, err := EncodeCopy(vars, int(d.Size), true, flag, s.opt.Pad)
	if err != nil {
		return fmt.Errorf("%s: %w", s, err)
	}
	if err := writeAt(d, buf, 0); err != nil {
		return fmt.Errorf("%s: copy %d: %w", s, target, err)
	}
	if s.opt.Scheme == Boolean && st.err == nil {
		old := s.cfg.Devices[st.active]
		if err := writeAt(old, []byte{FlagObsolete}, 4); err != nil {
			return fmt.Errorf("%s: mark copy %d obsolete: %w", s, st.active, err)
		}
	}
	s.log.Info("u-boot env stored", "device", d.Path, "copy", target, "flag", flag, "vars", len(vars))
	return nil
}

// wholeFile reports whether d is a regular file holding exactly one
// environment at offset 0, which can be replaced atomically by rename.
func wholeFile(d Device) (bool, string) {
	path, err := filepath.EvalSymlinks(d.Path)
	if err != nil || d.Offset != 0 {
		return false, ""
	}
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != d.Size {
		return false, ""
	}
	return true, path
}

// writeAt writes buf at rel bytes into d's copy, in place, then fsyncs. The
// file must exist (libubootenv does not create it either).
func writeAt(d Device, buf []byte, rel int64) error {
	f, err := os.OpenFile(d.Path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open for writing (it must exist; create it with mkenvimage): %w", err)
	}
	off, err := resolveOffset(f, d)
	if err == nil {
		_, err = f.WriteAt(buf, off+rel)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s at %#x: %w", d.Path, d.Offset+rel, err)
	}
	return nil
}

// replaceFile atomically replaces path with buf (atomicfile: temp file,
// fsync, rename, directory fsync). The file keeps its mode.
func replaceFile(path string, buf []byte) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, buf, fi.Mode().Perm())
}
