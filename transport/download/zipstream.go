package download

import (
	"bufio"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"strings"
)

// A zip package is read front to back, as it arrives, from its local file
// headers: nothing is seeked, so the same code unpacks a package streaming
// into an A/B slot and one staged on disk. The central directory at the end
// is read too, to refuse links (only it carries file modes) and entries the
// local headers did not show.

// Zip record signatures and header sizes (APPNOTE 4.3).
const (
	sigLocal     = 0x04034b50
	sigCentral   = 0x02014b50
	sigEnd       = 0x06054b50
	sigEnd64     = 0x06064b50
	sigLocator64 = 0x07064b50
	sigDataDesc  = 0x08074b50
	localLen     = 30 // local file header without name and extra
	centralLen   = 46 // central directory header without name, extra and comment

	flagEncrypted  = 1 << 0
	flagDataDesc   = 1 << 3
	methodStore    = 0
	methodDeflate  = 8
	zip64ExtraID   = 0x0001
	maxZipName     = 1024
	maxZipEntries  = 4096
	unixHost       = 3
	sIFMT, sIFREG  = 0o170000, 0o100000
	sIFDIR         = 0o040000
	maxU32         = 0xffffffff
	maxDescrLength = 24
)

// zipEntry is one local file header.
type zipEntry struct {
	name         string
	flags        uint16
	method       uint16
	crc          uint32
	csize, usize uint64
	zip64        bool
}

func (e *zipEntry) isDir() bool { return strings.HasSuffix(e.name, "/") }

// zipStream reads a zip archive sequentially.
type zipStream struct {
	r     *bufio.Reader
	names map[string]bool // local entry names seen
}

func newZipStream(r io.Reader) *zipStream {
	return &zipStream{r: bufio.NewReaderSize(r, 64<<10), names: map[string]bool{}}
}

// next returns the next local entry, or nil when the central directory
// (or the end record) starts.
func (z *zipStream) next() (*zipEntry, error) {
	sig, err := z.u32()
	if err != nil {
		return nil, fmt.Errorf("%w: zip: %w", ErrPackage, unexpected(err))
	}
	switch sig {
	case sigLocal:
	case sigCentral, sigEnd:
		return nil, z.central(sig)
	default:
		return nil, fmt.Errorf("%w: zip: bad record signature %#08x (not a zip, or corrupt)", ErrPackage, sig)
	}
	if len(z.names) >= maxZipEntries {
		return nil, fmt.Errorf("%w: zip holds more than %d entries", ErrPackage, maxZipEntries)
	}
	e, err := z.local()
	if err != nil {
		return nil, fmt.Errorf("%w: zip: %w", ErrPackage, err)
	}
	return e, nil
}

// local reads a local file header after its signature.
func (z *zipStream) local() (*zipEntry, error) {
	var h [localLen - 4]byte
	if _, err := io.ReadFull(z.r, h[:]); err != nil {
		return nil, unexpected(err)
	}
	le := binary.LittleEndian
	e := &zipEntry{flags: le.Uint16(h[2:]), method: le.Uint16(h[4:]), crc: le.Uint32(h[10:]),
		csize: uint64(le.Uint32(h[14:])), usize: uint64(le.Uint32(h[18:]))}
	name, extra, err := z.nameExtra(int(le.Uint16(h[22:])), int(le.Uint16(h[24:])))
	if err != nil {
		return nil, err
	}
	e.name = name
	if err := checkName(strings.TrimSuffix(name, "/")); err != nil {
		return nil, err
	}
	if z.names[name] {
		return nil, fmt.Errorf("entry %q appears twice", name)
	}
	z.names[name] = true
	if e.csize == maxU32 || e.usize == maxU32 {
		if err := e.readZip64(extra); err != nil {
			return nil, err
		}
	}
	return e, e.supported()
}

func (z *zipStream) nameExtra(nameLen, extraLen int) (string, []byte, error) {
	if nameLen > maxZipName {
		return "", nil, fmt.Errorf("entry name of %d bytes (the limit is %d)", nameLen, maxZipName)
	}
	b := make([]byte, nameLen+extraLen)
	if _, err := io.ReadFull(z.r, b); err != nil {
		return "", nil, unexpected(err)
	}
	return string(b[:nameLen]), b[nameLen:], nil
}

// readZip64 takes the sizes from the zip64 extra field.
func (e *zipEntry) readZip64(extra []byte) error {
	le := binary.LittleEndian
	for len(extra) >= 4 {
		id, n := le.Uint16(extra), int(le.Uint16(extra[2:]))
		if 4+n > len(extra) {
			break
		}
		if id == zip64ExtraID && n >= 16 {
			e.usize, e.csize, e.zip64 = le.Uint64(extra[4:]), le.Uint64(extra[12:]), true
			return nil
		}
		extra = extra[4+n:]
	}
	return fmt.Errorf("entry %q: zip64 sizes missing from its local header", e.name)
}

func (e *zipEntry) supported() error {
	switch {
	case e.flags&flagEncrypted != 0:
		return fmt.Errorf("entry %q is encrypted", e.name)
	case e.method != methodStore && e.method != methodDeflate:
		return fmt.Errorf("entry %q uses compression method %d (only stored and deflate are supported)", e.name, e.method)
	case e.method == methodStore && e.flags&flagDataDesc != 0:
		return fmt.Errorf("entry %q is stored with a data descriptor: its end cannot be found while streaming; rebuild the zip (e.g. zip -0 or without streaming)", e.name)
	}
	return nil
}

// open returns the entry's uncompressed bytes. After they are read to EOF,
// done checks the data descriptor and the CRC-32.
func (z *zipStream) open(e *zipEntry) (io.Reader, func() error) {
	var src io.Reader = z.r
	if e.flags&flagDataDesc == 0 {
		src = io.LimitReader(z.r, int64(e.csize))
	}
	var data io.Reader = src
	var fr io.ReadCloser
	if e.method == methodDeflate {
		fr = flate.NewReader(src) // z.r is a ByteReader: flate reads no further than its stream
		data = fr
	}
	crc := crc32.NewIEEE()
	counted := &countReader{r: io.TeeReader(data, crc)}
	done := func() error {
		if fr != nil {
			fr.Close()
		}
		if lr, ok := src.(*io.LimitedReader); ok && lr.N != 0 {
			return fmt.Errorf("%w: zip entry %q: %d compressed bytes left after its end", ErrPackage, e.name, lr.N)
		}
		return z.checkEntry(e, counted.n, crc)
	}
	return counted, done
}

// checkEntry reads the data descriptor when there is one and compares CRC
// and size with what was read.
func (z *zipStream) checkEntry(e *zipEntry, n int64, crc hash.Hash32) error {
	if e.flags&flagDataDesc != 0 {
		if err := z.descriptor(e); err != nil {
			return fmt.Errorf("%w: zip entry %q: %w", ErrPackage, e.name, err)
		}
	}
	if uint64(n) != e.usize {
		return fmt.Errorf("%w: zip entry %q holds %d bytes, its header says %d", ErrPackage, e.name, n, e.usize)
	}
	if crc.Sum32() != e.crc {
		return fmt.Errorf("%w: zip entry %q: CRC-32 %08x, the header says %08x (corrupt)", ErrPackage, e.name, crc.Sum32(), e.crc)
	}
	return nil
}

// descriptor reads a data descriptor (optional signature, CRC, sizes).
func (z *zipStream) descriptor(e *zipEntry) error {
	head, err := z.r.Peek(4)
	if err != nil {
		return unexpected(err)
	}
	if binary.LittleEndian.Uint32(head) == sigDataDesc {
		z.r.Discard(4)
	}
	n := 12
	if e.zip64 {
		n = 20
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(z.r, b); err != nil {
		return unexpected(err)
	}
	le := binary.LittleEndian
	e.crc = le.Uint32(b)
	if e.zip64 {
		e.csize, e.usize = le.Uint64(b[4:]), le.Uint64(b[12:])
	} else {
		e.csize, e.usize = uint64(le.Uint32(b[4:])), uint64(le.Uint32(b[8:]))
	}
	return nil
}

// central reads the central directory: every entry must have been seen as a
// local entry, and none may be a link or special file.
func (z *zipStream) central(sig uint32) error {
	seen := 0
	for ; sig == sigCentral; seen++ {
		if err := z.centralEntry(); err != nil {
			return fmt.Errorf("%w: zip central directory: %w", ErrPackage, err)
		}
		var err error
		if sig, err = z.u32(); err != nil {
			return fmt.Errorf("%w: zip central directory: %w", ErrPackage, unexpected(err))
		}
	}
	if seen != len(z.names) {
		return fmt.Errorf("%w: zip central directory lists %d entries, the archive holds %d", ErrPackage, seen, len(z.names))
	}
	switch sig {
	case sigEnd, sigEnd64, sigLocator64:
		_, err := io.Copy(io.Discard, io.LimitReader(z.r, 1<<20)) // end records and comment
		return err
	}
	return fmt.Errorf("%w: zip: bad record %#08x after the central directory", ErrPackage, sig)
}

func (z *zipStream) centralEntry() error {
	var h [centralLen - 4]byte
	if _, err := io.ReadFull(z.r, h[:]); err != nil {
		return unexpected(err)
	}
	le := binary.LittleEndian
	host, attrs := h[1], le.Uint32(h[34:])
	name, _, err := z.nameExtra(int(le.Uint16(h[24:])), int(le.Uint16(h[26:])))
	if err != nil {
		return err
	}
	if _, err := z.r.Discard(int(le.Uint16(h[28:]))); err != nil {
		return unexpected(err)
	}
	if !z.names[name] {
		return fmt.Errorf("entry %q has no local header (a hidden entry)", name)
	}
	if mode := attrs >> 16; host == unixHost && mode&sIFMT != 0 && mode&sIFMT != sIFREG && mode&sIFMT != sIFDIR {
		return fmt.Errorf("entry %q is a link or special file (mode %o); links are refused", name, mode)
	}
	return nil
}

func (z *zipStream) u32() (uint32, error) {
	var b [4]byte
	if _, err := io.ReadFull(z.r, b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
