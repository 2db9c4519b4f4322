package download

import (
	"archive/zip"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Package limits.
const (
	// ManifestName is the manifest's name at the root of a zip.
	ManifestName = "manifest.json"
	// MaxManifest is the largest manifest.json accepted.
	MaxManifest = 64 << 10
	// MaxZipRatio is the largest accepted ratio of declared uncompressed
	// bytes to archive bytes. Deflate tops out near 1032:1 for one entry,
	// and even an all-zero ext4 image rarely passes 500:1; bombs made of
	// overlapping entries go far beyond.
	MaxZipRatio = 500
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

func unpackZip(f *os.File, component, dir string) ([]Entry, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(f, st.Size())
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // names are checked below, with a clearer message
		return nil, fmt.Errorf("%w: %s: %w", ErrPackage, f.Name(), err)
	}
	files, err := checkZip(zr.File, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrPackage, f.Name(), err)
	}
	if mf, ok := files[ManifestName]; ok {
		return unpackManifest(mf, files, dir)
	}
	if len(files) != 1 {
		return nil, fmt.Errorf("%w: %s: without %s a zip must hold exactly one file, it holds %d", ErrPackage, f.Name(), ManifestName, len(files))
	}
	var only *zip.File
	for _, zf := range files {
		only = zf
	}
	e, err := extract(only, dir, component, 0)
	if err != nil {
		return nil, err
	}
	return []Entry{e}, nil
}

// checkZip refuses hostile archives and returns the regular files by name.
func checkZip(zfs []*zip.File, size int64) (map[string]*zip.File, error) {
	files := map[string]*zip.File{}
	type span struct{ from, to int64 }
	var spans []span
	var declared uint64
	for _, zf := range zfs {
		if err := checkName(strings.TrimSuffix(zf.Name, "/")); err != nil {
			return nil, err
		}
		m := zf.Mode()
		if m.IsDir() {
			continue
		}
		if m&fs.ModeType != 0 {
			return nil, fmt.Errorf("entry %q is a %s, not a regular file; links are refused", zf.Name, typeName(m))
		}
		if _, dup := files[zf.Name]; dup {
			return nil, fmt.Errorf("entry %q appears twice", zf.Name)
		}
		off, err := zf.DataOffset()
		if err != nil {
			return nil, fmt.Errorf("entry %q: %w", zf.Name, err)
		}
		if zf.CompressedSize64 > uint64(size) || off+int64(zf.CompressedSize64) > size {
			return nil, fmt.Errorf("entry %q extends past the end of the archive", zf.Name)
		}
		spans = append(spans, span{off, off + int64(zf.CompressedSize64)})
		declared += zf.UncompressedSize64
		files[zf.Name] = zf
	}
	slices.SortFunc(spans, func(a, b span) int { return int(min(max(a.from-b.from, -1), 1)) })
	for i := 1; i < len(spans); i++ {
		if spans[i].from < spans[i-1].to {
			return nil, errors.New("entries overlap (a zip bomb)")
		}
	}
	if declared/MaxZipRatio > uint64(max(size, 1)) {
		return nil, fmt.Errorf("entries declare %d bytes from a %d-byte archive, more than %d:1 (a zip bomb)", declared, size, MaxZipRatio)
	}
	return files, nil
}

func typeName(m fs.FileMode) string {
	if m&fs.ModeSymlink != 0 {
		return "symlink"
	}
	return "special file (" + m.Type().String() + ")"
}

func unpackManifest(mf *zip.File, files map[string]*zip.File, dir string) ([]Entry, error) {
	rc, err := mf.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrPackage, ManifestName, err)
	}
	b, err := io.ReadAll(io.LimitReader(rc, MaxManifest+1))
	rc.Close()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrPackage, ManifestName, err)
	}
	m, err := ParseManifest(b)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, im := range m.Images {
		zf, ok := files[im.File]
		if !ok {
			return nil, fmt.Errorf("%w: %s names %q for %s, which is not in the zip", ErrPackage, ManifestName, im.File, im.Component)
		}
		e, err := extract(zf, dir, im.Component, im.Size)
		if err == nil && e.SHA256 != im.SHA256 {
			os.Remove(e.Path)
			err = &DigestError{Algo: "sha256", Want: im.SHA256, Got: e.SHA256}
			err = fmt.Errorf("zip entry %q for %s: %w", im.File, im.Component, err)
		}
		if err != nil {
			return nil, err
		}
		e.Version = im.Version
		out = append(out, e)
	}
	return out, nil
}

// extract writes one entry to dir as "<component>-<base name>", refusing
// more bytes than declared (by the zip header, and by the manifest when want > 0).
func extract(zf *zip.File, dir, component string, want int64) (Entry, error) {
	limit := int64(zf.UncompressedSize64)
	if want > 0 && want != limit {
		return Entry{}, fmt.Errorf("%w: zip entry %q is %d bytes, %s says %d", ErrPackage, zf.Name, limit, ManifestName, want)
	}
	rc, err := zf.Open()
	if err != nil {
		return Entry{}, fmt.Errorf("%w: zip entry %q: %w", ErrPackage, zf.Name, err)
	}
	defer rc.Close()
	out := filepath.Join(dir, component+"-"+path.Base(zf.Name))
	n, sum, err := writeHashed(out, &capReader{r: rc, left: limit, name: zf.Name})
	if err != nil {
		return Entry{}, fmt.Errorf("extract zip entry %q to %s: %w", zf.Name, out, err)
	}
	return Entry{Component: component, Path: out, Size: n, SHA256: sum}, nil
}

// capReader fails once its reader yields more than left bytes.
type capReader struct {
	r    io.Reader
	left int64
	name string
}

func (c *capReader) Read(p []byte) (int, error) {
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return 0, fmt.Errorf("%w: entry %q is larger than its declared size", ErrPackage, c.name)
	}
	if errors.Is(err, zip.ErrFormat) || errors.Is(err, zip.ErrChecksum) {
		// archive/zip reports an entry longer than declared as ErrFormat.
		return n, fmt.Errorf("%w: entry %q is larger than its declared size or corrupt: %w", ErrPackage, c.name, err)
	}
	return n, err
}
