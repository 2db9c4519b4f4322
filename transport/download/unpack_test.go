package download

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const (
	pkgDir    = "../../testdata/packages"
	rootfsSHA = "bee624c9bf9caf026d9eacea23f2bda8bfae71e728d00565d997363d72b4df29"
	mcuSHA    = "bd48e568baa507dedc5c1ec3a3123b4a1eaada62ecb0f0f585d67513139dff3f"
)

// TestUnpackFixtures unpacks packages made by the real gzip, xz, zstd and
// zip tools (testdata/packages).
func TestUnpackFixtures(t *testing.T) {
	tests := []struct {
		file string
		want []Entry // Path is checked by content only
	}{
		{"rootfs.img", []Entry{{Component: "rootfs", Size: 64000, SHA256: rootfsSHA}}},
		{"rootfs.img.gz", []Entry{{Component: "rootfs", Size: 64000, SHA256: rootfsSHA}}},
		{"rootfs.img.xz", []Entry{{Component: "rootfs", Size: 64000, SHA256: rootfsSHA}}},
		{"rootfs.img.zst", []Entry{{Component: "rootfs", Size: 64000, SHA256: rootfsSHA}}},
		{"single.zip", []Entry{{Component: "rootfs", Size: 64000, SHA256: rootfsSHA}}},
		{"manifest.zip", []Entry{
			{Component: "rootfs", Version: "1.2.0", Size: 64000, SHA256: rootfsSHA},
			{Component: "mcu", Version: "2.0.1", Size: 5000, SHA256: mcuSHA}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			dir := t.TempDir()
			got, err := unpackAll(filepath.Join(pkgDir, tt.file), dir)
			if err != nil {
				t.Fatalf("Unpack: %v", err)
			}
			for i := range got {
				b, err := os.ReadFile(got[i].Path)
				if err != nil || int64(len(b)) != got[i].Size {
					t.Errorf("entry %d at %s: %d bytes, %v; want %d", i, got[i].Path, len(b), err, got[i].Size)
				}
				got[i].Path = ""
			}
			for i := range tt.want {
				tt.want[i].Manifest = tt.want[i].Version != ""
			}
			if d := cmp.Diff(tt.want, got, cmpopts.IgnoreUnexported(Entry{})); d != "" {
				t.Errorf("Unpack(%s) (-want +got):\n%s", tt.file, d)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	for _, f := range []struct {
		file string
		want Format
	}{{"rootfs.img", Raw}, {"rootfs.img.gz", Gzip}, {"rootfs.img.xz", XZ}, {"rootfs.img.zst", Zstd}, {"single.zip", Zip}} {
		b, _ := os.ReadFile(filepath.Join(pkgDir, f.file))
		if got := Detect(b[:8], f.file); got != f.want {
			t.Errorf("Detect(%s) = %s, want %s", f.file, got, f.want)
		}
	}
	if got := Detect([]byte("plain text"), "x.gz"); got != Raw {
		t.Errorf("Detect(text named .gz) = %s, want raw", got)
	}
}

type zent struct {
	name   string
	mode   fs.FileMode
	data   []byte
	rawLen uint64 // CreateRaw with this declared size (deflated data)
}

func makeZip(t testing.TB, ents ...zent) string {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range ents {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		if e.rawLen > 0 {
			var c bytes.Buffer
			fw, _ := flate.NewWriter(&c, 9)
			fw.Write(e.data)
			fw.Close()
			h.CompressedSize64, h.UncompressedSize64, h.CRC32 = uint64(c.Len()), e.rawLen, crc32.ChecksumIEEE(e.data)
			ww, err := w.CreateRaw(h)
			if err != nil {
				t.Fatal(err)
			}
			ww.Write(c.Bytes())
			continue
		}
		ww, err := w.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		ww.Write(e.data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "pkg.zip")
	os.WriteFile(p, buf.Bytes(), 0o600)
	return p
}

func manifestFor(files ...string) []byte {
	var parts []string
	for i, f := range files {
		parts = append(parts, `{"component": "c`+string(rune('0'+i))+`", "file": "`+f+`", "sha256": "`+strings.Repeat("ab", 32)+`"}`)
	}
	return []byte(`{"images": [` + strings.Join(parts, ",") + `]}`)
}

func TestUnpackHostileZip(t *testing.T) {
	img := []byte("image bytes")
	tests := []struct {
		name string
		ents []zent
		want string // in the error
	}{
		{"dot-dot", []zent{{name: "../evil", data: img}}, `".."`},
		{"dot-dot deep", []zent{{name: "a/../../evil", data: img}}, `".."`},
		{"absolute", []zent{{name: "/etc/passwd", data: img}}, "absolute"},
		{"backslash", []zent{{name: `..\evil`, data: img}}, "backslash"},
		{"symlink", []zent{{name: "link", mode: fs.ModeSymlink | 0o777, data: []byte("/etc/passwd")}}, "links are refused"},
		{"two files, no manifest", []zent{{name: "a", data: img}, {name: "b", data: img}}, "exactly one image"},
		{"empty", nil, "holds no file"},
		{"larger than declared", []zent{{name: "a", data: bytes.Repeat([]byte("x"), 10000), rawLen: 100}}, "its header says 100"},
		{"smaller than declared", []zent{{name: "a", data: []byte("x"), rawLen: 1 << 20}}, "its header says 1048576"},
		{"manifest names missing file", []zent{{name: ManifestName, data: manifestFor("nope")}, {name: "a", data: img}}, "not in the zip"},
		{"manifest escapes", []zent{{name: ManifestName, data: manifestFor("../a")}, {name: "a", data: img}}, `".."`},
		{"manifest wrong sha256", []zent{{name: ManifestName, data: manifestFor("a")}, {name: "a", data: img}}, "sha256 mismatch"},
		{"manifest not json", []zent{{name: ManifestName, data: []byte("{")}, {name: "a", data: img}}, ManifestName},
		{"duplicate entry", []zent{{name: "a", data: img}, {name: "a", data: img}}, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := unpackAll(makeZip(t, tt.ents...), dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Unpack = %v, want an error containing %q", err, tt.want)
			}
			var de *DigestError
			if !errors.Is(err, ErrPackage) && !errors.As(err, &de) {
				t.Errorf("error %v wraps neither ErrPackage nor *DigestError", err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("refused package left %d files in %s", len(ents), dir)
			}
		})
	}
}

func TestUnpackTruncatedCompressed(t *testing.T) {
	for _, f := range []string{"rootfs.img.gz", "rootfs.img.xz", "rootfs.img.zst"} {
		b, _ := os.ReadFile(filepath.Join(pkgDir, f))
		p := filepath.Join(t.TempDir(), f)
		os.WriteFile(p, b[:len(b)/2], 0o600)
		dir := t.TempDir()
		if _, err := unpackAll(p, dir); !errors.Is(err, ErrPackage) {
			t.Errorf("Unpack(truncated %s) = %v, want ErrPackage", f, err)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("truncated %s left %d files", f, len(ents))
		}
	}
}

func TestParseManifest(t *testing.T) {
	good := `{"images":[{"component":" rootfs ","version":"1","file":"a.img","sha256":"` + strings.ToUpper(rootfsSHA) + `","size":3}]}`
	m, err := ParseManifest([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	want := &Manifest{Images: []ManifestImage{{Component: "rootfs", Version: "1", File: "a.img", SHA256: rootfsSHA, Size: 3}}}
	if d := cmp.Diff(want, m); d != "" {
		t.Errorf("ParseManifest (-want +got):\n%s", d)
	}
	for _, bad := range []string{
		`{}`, `{"images":[]}`, `[]`, `{"images":[{"component":"a","file":"x","sha256":"zz"}]}`,
		`{"images":[{"component":"","file":"x","sha256":"` + rootfsSHA + `"}]}`,
		`{"images":[{"component":"a","file":"x","sha256":"` + rootfsSHA + `"},{"component":"a","file":"y","sha256":"` + rootfsSHA + `"}]}`,
		`{"images":[{"component":"a","file":"x","sha256":"` + rootfsSHA + `","size":-1}]}`,
		`{"images":[{"component":"a","file":"x","sha256":"` + rootfsSHA + `","sise":1}]}`,
	} {
		if _, err := ParseManifest([]byte(bad)); !errors.Is(err, ErrPackage) {
			t.Errorf("ParseManifest(%s) = %v, want ErrPackage", bad, err)
		}
	}
}

// unpackAll unpacks the package at p into dir for every component the
// fixtures use (rootfs, mcu, c0…c9).
func unpackAll(p, dir string) ([]Entry, error) {
	known := func(c string) bool { return c == "rootfs" || c == "mcu" || len(c) == 2 && c[0] == 'c' }
	u, err := UnpackFile(p, Plan{Component: "rootfs", Known: known}, known, dir, 1<<30, "the test limit")
	return u.Entries, err
}
