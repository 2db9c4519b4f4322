package download

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Format is a package format, detected from magic bytes.
type Format string

// Formats. Persisted in logs; never rename.
const (
	Raw  Format = "raw"
	Gzip Format = "gzip"
	XZ   Format = "xz"
	Zstd Format = "zstd"
	Zip  Format = "zip"
)

// Entry is one image out of a package, ready for its component's target.
type Entry struct {
	Component string
	Version   string // from manifest.json; "" otherwise
	Path      string // the image file (the staged file itself for a raw package)
	Size      int64
	SHA256    string // lower-case hex of the image bytes at Path
}

// Detect returns the format of the bytes starting with head. name (the
// file name or URL) is only a hint for when the magic is ambiguous: a file
// that merely ends in ".gz" without gzip magic is raw.
func Detect(head []byte, name string) Format {
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return Gzip
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return XZ
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return Zstd
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")) && strings.HasSuffix(strings.ToLower(name), ".zip"):
		return Zip
	}
	return Raw
}

// Unpack turns the staged package at path into images for component (the
// offer's component), written under dir. A raw image is returned in place;
// gzip, xz and zstd are decompressed to dir while hashing; a zip is handled
// as the package doc describes. Errors about the package itself wrap
// ErrPackage.
func Unpack(path, component, dir string) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open package: %w", err)
	}
	defer f.Close()
	head := make([]byte, 8)
	n, _ := io.ReadFull(f, head)
	switch fm := Detect(head[:n], path); fm {
	case Zip:
		return unpackZip(f, component, dir)
	case Raw:
		return rawEntry(f, path, component)
	default:
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		out := filepath.Join(dir, component+".img")
		e, err := decompressTo(fm, f, out, path)
		if err != nil {
			return nil, err
		}
		e.Component = component
		return []Entry{e}, nil
	}
}

func rawEntry(f *os.File, path, component string) ([]Entry, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return nil, fmt.Errorf("read package %s: %w", path, err)
	}
	return []Entry{{Component: component, Path: path, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}}, nil
}

// Decompress returns a reader of r's decompressed bytes for fm (Raw returns
// r itself); for an ab image that arrives compressed and streams into a slot.
// The caller closes the result.
func Decompress(fm Format, r io.Reader) (io.ReadCloser, error) {
	switch fm {
	case Raw:
		return io.NopCloser(r), nil
	case Gzip:
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("%w: gzip header: %w", ErrPackage, err)
		}
		return z, nil
	case XZ:
		z, err := xz.NewReader(bufio.NewReader(r))
		if err != nil {
			return nil, fmt.Errorf("%w: xz header: %w", ErrPackage, err)
		}
		return io.NopCloser(z), nil
	case Zstd:
		// A 64 MiB window cap keeps memory bounded on a 256 MiB board.
		z, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(64<<20), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, fmt.Errorf("%w: zstd header: %w", ErrPackage, err)
		}
		return z.IOReadCloser(), nil
	}
	return nil, fmt.Errorf("%w: cannot decompress format %q", ErrPackage, fm)
}

// decompressTo writes the decompressed r to out, hashing on the way.
func decompressTo(fm Format, r io.Reader, out, name string) (Entry, error) {
	z, err := Decompress(fm, r)
	if err != nil {
		return Entry{}, fmt.Errorf("%s: %w", name, err)
	}
	defer z.Close()
	n, sum, err := writeHashed(out, z)
	if err != nil {
		return Entry{}, fmt.Errorf("decompress %s (%s) to %s: %w", name, fm, out, err)
	}
	return Entry{Path: out, Size: n, SHA256: sum}, nil
}

// writeHashed copies r into a new file at out, fsyncs it, and returns its
// size and SHA-256. A read error is a bad package; ENOSPC says so.
func writeHashed(out string, r io.Reader) (int64, string, error) {
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, "", err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if err != nil && !errors.Is(err, syscall.ENOSPC) && !errors.Is(err, ErrPackage) {
		var pe *os.PathError
		if !errors.As(err, &pe) {
			err = fmt.Errorf("%w: %w", ErrPackage, err)
		}
	}
	if errors.Is(err, syscall.ENOSPC) {
		err = fmt.Errorf("%w after %d bytes: %w", ErrNoSpace, n, err)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
