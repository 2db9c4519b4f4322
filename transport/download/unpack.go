package download

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strings"

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
