package download

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Package limits.
const (
	// ManifestName is the manifest's name at the root of a zip.
	ManifestName = "manifest.json"
	// ManifestSigName is the minisign signature of the manifest.
	ManifestSigName = ManifestName + ".minisig"
	// maxSig is the largest manifest signature read.
	maxSig = 4 << 10
	// MaxManifest is the largest manifest.json accepted.
	MaxManifest = 64 << 10
	// MaxVersion is the longest version accepted from a package.
	MaxVersion = 128
	// maxComponent is the longest component name accepted from a package.
	maxComponent = 64
)

// Manifest is manifest.json in a zip package: which file holds which
// component's image.
type Manifest struct {
	Images []ManifestImage `json:"images"`
}

// ManifestImage is one image listed in a manifest.
type ManifestImage struct {
	Component string `json:"component"`
	Version   string `json:"version"`
	File      string `json:"file"`   // name inside the zip
	SHA256    string `json:"sha256"` // hex of the file's bytes; required
	Size      int64  `json:"size"`   // bytes; 0 = not given
}

// ParseManifest decodes and checks a manifest: at least one image, unique
// non-empty components, safe file names, a 64-digit hex SHA-256 each.
func ParseManifest(b []byte) (*Manifest, error) {
	if len(b) > MaxManifest {
		return nil, fmt.Errorf("%w: %s is %d bytes, the limit is %d", ErrPackage, ManifestName, len(b), MaxManifest)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var m Manifest
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrPackage, ManifestName, err)
	}
	if len(m.Images) == 0 {
		return nil, fmt.Errorf("%w: %s lists no images; want {\"images\": [{\"component\", \"version\", \"file\", \"sha256\"}]}", ErrPackage, ManifestName)
	}
	seen := map[string]bool{}
	for i := range m.Images {
		im := &m.Images[i]
		im.Component, im.Version, im.File = strings.TrimSpace(im.Component), strings.TrimSpace(im.Version), strings.TrimSpace(im.File)
		im.SHA256 = strings.ToLower(strings.TrimSpace(im.SHA256))
		if err := im.check(seen); err != nil {
			return nil, fmt.Errorf("%w: %s image %d: %w", ErrPackage, ManifestName, i, err)
		}
	}
	return &m, nil
}

func (im *ManifestImage) check(seen map[string]bool) error {
	switch {
	case im.Component == "":
		return errors.New("no component")
	case seen[im.Component]:
		return fmt.Errorf("component %q listed twice", im.Component)
	case im.Size < 0:
		return fmt.Errorf("negative size %d", im.Size)
	case len(im.Component) > maxComponent || strings.IndexFunc(im.Component, badNameRune) >= 0:
		return fmt.Errorf("component name %s is not a name (at most %d of A-Z a-z 0-9 . _ -)", quoteClip(im.Component), maxComponent)
	case len(im.Version) > MaxVersion:
		return fmt.Errorf("version of %d bytes (the limit is %d)", len(im.Version), MaxVersion)
	case !printable(im.Version):
		return fmt.Errorf("version %s holds control characters", quoteClip(im.Version))
	}
	seen[im.Component] = true
	if err := checkName(im.File); err != nil {
		return err
	}
	if b, err := hex.DecodeString(im.SHA256); err != nil || len(b) != 32 {
		return fmt.Errorf("sha256 %q is not 64 hex digits", im.SHA256)
	}
	return nil
}

// checkName refuses names that could escape the extraction directory.
func checkName(n string) error {
	switch {
	case n == "":
		return errors.New("empty file name")
	case strings.ContainsAny(n, "\\\x00"):
		return fmt.Errorf("file name %q holds a backslash or NUL", n)
	case strings.HasPrefix(n, "/"):
		return fmt.Errorf("absolute file name %q", n)
	case slices.Contains(strings.Split(n, "/"), ".."):
		return fmt.Errorf("file name %q climbs out with \"..\"", n)
	case !filepath.IsLocal(n):
		return fmt.Errorf("file name %q is not local", n)
	}
	return nil
}

// badNameRune reports a rune not allowed in a component name.
func badNameRune(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) }) < 0
}

// quoteClip quotes s with Go escapes, clipped to 64 bytes, for messages.
func quoteClip(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "…"
	}
	return strconv.Quote(s)
}

// byFile returns the manifest image stored as name, or nil.
func (m *Manifest) byFile(name string) *ManifestImage {
	for i := range m.Images {
		if m.Images[i].File == name {
			return &m.Images[i]
		}
	}
	return nil
}

// zip unpacks a zip package front to back (zipstream.go). With a
// manifest.json the images go to the components it names; without one the
// zip must hold exactly one file, the offer's component's image. A zip with
// several images must have manifest.json before them, since nothing is
// read twice.
func (u *unpacker) zip(r *bufio.Reader) error {
	zs := newZipStream(r)
	for {
		e, err := zs.next()
		if err != nil || e == nil {
			if err == nil {
				err = u.endZip()
			}
			return err
		}
		data, done := zs.open(e)
		switch {
		case e.isDir():
			err = skip(data, 0)
		case e.name == ManifestName:
			err = u.manifest(data)
		case e.name == ManifestSigName:
			err = u.signature(data)
		default:
			if err = u.verify(); err == nil {
				err = u.file(e, data)
			}
		}
		if err == nil {
			err = done()
		}
		if err != nil {
			return err
		}
	}
}

// manifest reads manifest.json and checks the images written before it.
func (u *unpacker) manifest(r io.Reader) error {
	b, err := io.ReadAll(io.LimitReader(r, MaxManifest+1))
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrPackage, ManifestName, err)
	}
	u.manifestRaw = b
	if u.m, err = ParseManifest(b); err != nil {
		return err
	}
	for i := range u.res.Entries {
		e := &u.res.Entries[i]
		im := u.m.byFile(e.file)
		if im == nil || im.Component != e.Component {
			return fmt.Errorf("%w: %s comes after %q and does not map it to %s; put %s first in a zip with several images", ErrPackage, ManifestName, e.file, e.Component, ManifestName)
		}
		if err := checkImage(*e, im); err != nil {
			return err
		}
		e.Version, e.Manifest = im.Version, true
	}
	return nil
}

// signature reads manifest.json.minisig; it must come before the images.
func (u *unpacker) signature(r io.Reader) error {
	b, err := io.ReadAll(io.LimitReader(r, maxSig+1))
	switch {
	case err != nil:
		return fmt.Errorf("%w: %s: %w", ErrPackage, ManifestSigName, err)
	case len(b) > maxSig:
		return fmt.Errorf("%w: %s is larger than %d bytes", ErrPackage, ManifestSigName, maxSig)
	case u.verified && u.p.VerifyManifest != nil:
		return fmt.Errorf("%w: %s comes after an image; put manifest.json and %s before the images", ErrPackage, ManifestSigName, ManifestSigName)
	}
	u.manifestSig = b
	return nil
}

// verify runs Plan.VerifyManifest once, before the first image byte.
func (u *unpacker) verify() error {
	if u.verified {
		return nil
	}
	u.verified = true
	if u.p.VerifyManifest == nil {
		return nil
	}
	return u.p.VerifyManifest(u.manifestRaw, u.manifestSig)
}

// file unpacks one zip entry that is not the manifest.
func (u *unpacker) file(ze *zipEntry, r io.Reader) error {
	if u.m == nil {
		return u.unlisted(ze, r)
	}
	im := u.m.byFile(ze.name)
	switch {
	case im == nil:
		u.res.Skipped = append(u.res.Skipped, fmt.Sprintf("file %s: not listed in %s", quoteClip(ze.name), ManifestName))
		return skip(r, ze.usize)
	case !u.p.known(im.Component):
		u.res.Skipped = append(u.res.Skipped, fmt.Sprintf("%s %s: no such component on this device", im.Component, im.Version))
		return skip(r, ze.usize)
	}
	s, err := u.p.Route(im.Component)
	if err != nil || s == nil {
		if err == nil {
			u.res.Skipped = append(u.res.Skipped, fmt.Sprintf("%s %s: not part of this install", im.Component, im.Version))
			err = skip(r, ze.usize)
		}
		return err
	}
	e, err := u.write(im.Component, r, im.Size)
	if err == nil {
		err = checkImage(e, im)
	}
	if err != nil {
		return err
	}
	e.Version, e.Manifest, e.file = im.Version, true, ze.name
	u.res.Entries = append(u.res.Entries, e)
	return nil
}

// unlisted writes a file met before any manifest: the offer's component's
// image, if it is the only one.
func (u *unpacker) unlisted(ze *zipEntry, r io.Reader) error {
	if len(u.res.Entries) > 0 {
		return fmt.Errorf("%w: %s holds several files and no %s before them: a zip without %s holds exactly one image, and one with several images has %s first",
			ErrPackage, u.p.Name, ManifestName, ManifestName, ManifestName)
	}
	e, err := u.write(u.p.Component, r, 0)
	if err != nil {
		return err
	}
	e.file = ze.name
	u.res.Entries = append(u.res.Entries, e)
	return nil
}

// endZip checks that every image the manifest routes was in the zip.
func (u *unpacker) endZip() error {
	if err := u.verify(); err != nil {
		return err
	}
	if u.m == nil {
		if len(u.res.Entries) == 0 {
			return fmt.Errorf("%w: %s holds no file", ErrPackage, u.p.Name)
		}
		return nil
	}
	for _, im := range u.m.Images {
		if !u.p.known(im.Component) || u.has(im.Component) {
			continue
		}
		if s, err := u.p.Route(im.Component); err == nil && s != nil {
			return fmt.Errorf("%w: %s names %q for %s, which is not in the zip", ErrPackage, ManifestName, im.File, im.Component)
		}
	}
	return nil
}

func (u *unpacker) has(component string) bool {
	_, err := u.res.Entry(component)
	return err == nil
}

// checkImage compares an unpacked image with its manifest entry.
func checkImage(e Entry, im *ManifestImage) error {
	if im.Size > 0 && e.Size != im.Size {
		return fmt.Errorf("%w: zip entry %q for %s is %d bytes, %s says %d", ErrPackage, im.File, im.Component, e.Size, ManifestName, im.Size)
	}
	if e.SHA256 != im.SHA256 {
		return fmt.Errorf("zip entry %q for %s: %w", im.File, im.Component, &DigestError{Algo: "sha256", Want: im.SHA256, Got: e.SHA256})
	}
	return nil
}

// maxSkip caps an entry that is skipped and whose size is not declared.
const maxSkip = 1 << 32

// skip reads a skipped entry to its end (its CRC is still checked),
// refusing more than it declared.
func skip(r io.Reader, declared uint64) error {
	limit := int64(maxSkip)
	if declared > 0 && declared < maxSkip {
		limit = int64(declared)
	}
	n, err := io.Copy(io.Discard, io.LimitReader(r, limit+1))
	switch {
	case err != nil:
		return fmt.Errorf("%w: zip entry: %w", ErrPackage, err)
	case n > limit:
		return fmt.Errorf("%w: a skipped zip entry holds more than %d bytes", ErrImageTooLarge, limit)
	}
	return nil
}
