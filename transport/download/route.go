package download

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"syscall"
)

// Every package takes one path to its targets, whether it streams into an
// A/B slot as it downloads or is read back from staging:
//
//	package bytes → detect → raw | gunzip | unxz | unzstd | zip entries
//	             → per image: cap, SHA-256 (and the manifest's digest) → Sink
//
// Names from the package are never paths: an image goes to the Sink the
// caller's Route gives for a configured component name, or nowhere.

// ErrImageTooLarge means an image grew past its cap while being unpacked (a
// decompression bomb, or an image that does not fit its target).
var ErrImageTooLarge = errors.New("image too large")

// Entry is one image unpacked out of a package.
type Entry struct {
	Component string
	Version   string // from manifest.json; "" otherwise
	Size      int64
	SHA256    string // lower-case hex of the image bytes as written
	// Manifest is true when the image's SHA-256 was checked against
	// manifest.json.
	Manifest bool
	Path     string // set by UnpackToDir
	file     string // zip entry name
}

// Sink is where one component's image goes.
type Sink struct {
	W     io.Writer // written sequentially from the image's first byte
	Limit int64     // the most bytes the image may hold
	// LimitName says where Limit comes from, for the error, e.g.
	// "the size of slot B" or "download.max_size".
	LimitName string
}

// Plan says what to do with the images of one package.
type Plan struct {
	Name      string // package file name or URL, for messages and format hints
	Component string // the offer's component: gets the image of a raw, compressed or manifest-less package
	// Known reports whether the device has a component of that name; images
	// a manifest lists for other names are skipped. nil: only Component.
	Known func(component string) bool
	// Route returns the sink of a known component's image; a nil Sink skips
	// the image (that component is not part of this install).
	Route func(component string) (*Sink, error)
	// Package, when set, receives every byte of the package as it is read,
	// e.g. to check a detached signature; Reset is called when a download
	// restarts from zero.
	Package PackageHash
	// VerifyManifest, when set, is called once in a zip before the first
	// image byte is written, with manifest.json and manifest.json.minisig
	// as read (nil when absent); an error stops the unpacking.
	VerifyManifest func(manifest, sig []byte) error
}

// PackageHash observes a package's bytes.
type PackageHash interface {
	io.Writer
	Reset()
}

func (p Plan) known(c string) bool {
	if p.Known == nil {
		return c == p.Component
	}
	return p.Known(c)
}

// Unpacked is what Unpack did.
type Unpacked struct {
	Format  Format
	Entries []Entry  // images written to their sinks, in package order
	Skipped []string // images not written, each with the reason
}

// Entry returns the image of component.
func (u Unpacked) Entry(component string) (Entry, error) {
	for _, e := range u.Entries {
		if e.Component == component {
			return e, nil
		}
	}
	return Entry{}, fmt.Errorf("%w: the package holds no image for component %s", ErrPackage, component)
}

// Unpack reads a whole package from r and writes its images to their sinks.
// Errors about the package itself wrap ErrPackage, ErrImageTooLarge or
// *DigestError. On success r has been read to its end.
func Unpack(r io.Reader, p Plan) (Unpacked, error) {
	if p.Package != nil {
		r = io.TeeReader(r, p.Package)
	}
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(8)
	u := &unpacker{p: p, res: Unpacked{Format: Detect(head, p.Name)}}
	var err error
	if u.res.Format == Zip {
		err = u.zip(br)
	} else {
		err = u.single(br)
	}
	if err == nil {
		_, err = io.Copy(io.Discard, br) // the package digest covers every byte
	}
	return u.res, err
}

type unpacker struct {
	p   Plan
	m   *Manifest
	res Unpacked

	manifestRaw, manifestSig []byte
	verified                 bool // VerifyManifest passed (or there is none)
}

// single unpacks a raw or compressed image for the offer's component.
func (u *unpacker) single(r io.Reader) error {
	z, err := Decompress(u.res.Format, r)
	if err != nil {
		return fmt.Errorf("%s: %w", u.p.Name, err)
	}
	defer z.Close()
	e, err := u.write(u.p.Component, z, 0)
	if err != nil {
		return err
	}
	u.res.Entries = append(u.res.Entries, e)
	return nil
}

// write copies one image into its component's sink, capped at the sink's
// limit (and at want when a manifest gives the size), hashing as it goes.
func (u *unpacker) write(component string, r io.Reader, want int64) (Entry, error) {
	s, err := u.p.Route(component)
	if err != nil {
		return Entry{}, err
	}
	if s == nil {
		return Entry{}, fmt.Errorf("component %s has no destination for its image", component)
	}
	limit, what := s.Limit, s.LimitName
	if want > 0 && (limit <= 0 || want < limit) {
		limit, what = want, "its size in "+ManifestName
	}
	h := sha256.New()
	cw := &capWriter{w: io.MultiWriter(s.W, h), left: limit, component: component, limit: limit, what: what}
	n, err := io.Copy(cw, r)
	if err != nil {
		return Entry{}, u.copyError(component, n, err)
	}
	return Entry{Component: component, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// copyError names what failed: the package (a read error), the space, or
// the destination.
func (u *unpacker) copyError(component string, n int64, err error) error {
	switch {
	case errors.Is(err, ErrImageTooLarge), errors.Is(err, ErrPackage):
		return err
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("unpack %s for %s: %w after %d bytes: %w", u.p.Name, component, ErrNoSpace, n, err)
	}
	var we *writeError
	if errors.As(err, &we) {
		return fmt.Errorf("unpack %s for %s: write image at %d bytes: %w", u.p.Name, component, n, we.err)
	}
	return fmt.Errorf("%w: %s (%s) for %s, at %d bytes unpacked: %w", ErrPackage, u.p.Name, u.res.Format, component, n, err)
}

// capWriter fails with ErrImageTooLarge once more than left bytes arrive.
type capWriter struct {
	w         io.Writer
	left      int64
	limit     int64
	component string
	what      string
}

func (c *capWriter) Write(p []byte) (int, error) {
	if c.limit > 0 && int64(len(p)) > c.left {
		return 0, fmt.Errorf("%w: the image for %s unpacks to more than %d bytes (%s); refusing it (a decompression bomb, or the wrong image)",
			ErrImageTooLarge, c.component, c.limit, c.what)
	}
	n, err := c.w.Write(p)
	c.left -= int64(n)
	if err != nil {
		return n, &writeError{err}
	}
	return n, nil
}

// writeError marks a failure of the sink, not of the package.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }
