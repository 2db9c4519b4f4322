// Package downloadtest serves firmware over loopback HTTP with injected
// faults, for the download engine's tests, benchmarks and `ota-agent demo`.
// It does not import testing.
package downloadtest

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
)

// Content is deterministic pseudo-random bytes of a given size, generated
// on the fly (a 1 GiB image costs no memory). Equal seeds give equal bytes.
type Content struct {
	Seed uint64
	Size int64
}

// ReadAt implements io.ReaderAt.
func (c Content) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("downloadtest: negative offset")
	}
	if off >= c.Size {
		return 0, io.EOF
	}
	n := len(p)
	if rem := c.Size - off; int64(n) > rem {
		n = int(rem)
	}
	var w [8]byte
	for i := 0; i < n; {
		o := off + int64(i)
		binary.LittleEndian.PutUint64(w[:], splitmix(c.Seed^uint64(o/8)))
		i += copy(p[i:n], w[o%8:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Bytes returns the whole content (small sizes only).
func (c Content) Bytes() []byte {
	b := make([]byte, c.Size)
	c.ReadAt(b, 0)
	return b
}

// Digests returns the lower-case hex MD5 and SHA-256 of the content.
func (c Content) Digests() (md5hex, sha256hex string) {
	m, s := md5.New(), sha256.New()
	io.Copy(io.MultiWriter(m, s), io.NewSectionReader(c, 0, c.Size))
	return hex.EncodeToString(m.Sum(nil)), hex.EncodeToString(s.Sum(nil))
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
