package grubenv

import (
	"fmt"
	"os"
)

// ReadFile reads and parses the grubenv at path.
func ReadFile(path string) (*Env, error) {
	buf, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read grubenv: %w", err)
	}
	e, err := Parse(buf)
	if err != nil {
		return nil, fmt.Errorf("grubenv %s: %w", path, err)
	}
	return e, nil
}

// WriteFile rewrites the grubenv at path in place at its current size (no
// truncation, no rename, so GRUB's blocklist stays valid), then fsyncs. The
// file must exist: create it with "grub-editenv FILE create".
func WriteFile(path string, e *Env) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open grubenv for writing (create it with grub-editenv %s create): %w", path, err)
	}
	err = writeInPlace(f, e)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("grubenv %s: %w", path, err)
	}
	return nil
}

func writeInPlace(f *os.File, e *Env) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := int(fi.Size())
	if size < len(Signature) {
		return fmt.Errorf("%w: file is %d bytes, shorter than the signature; recreate it with grub-editenv create", ErrInvalid, size)
	}
	buf, err := e.Encode(size)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(buf, 0); err != nil {
		return err
	}
	return f.Sync()
}

// Create writes a new block of size bytes holding e at path, replacing any
// file there. It is for tests and first-time setup; updates use WriteFile.
func Create(path string, e *Env, size int) error {
	buf, err := e.Encode(size)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		return fmt.Errorf("create grubenv: %w", err)
	}
	return nil
}
