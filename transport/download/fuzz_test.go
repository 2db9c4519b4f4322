package download

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		in   string
		want contentRange
		ok   bool
	}{
		{"bytes 0-99/100", contentRange{0, 99, 100}, true},
		{"bytes 100-199/*", contentRange{100, 199, -1}, true},
		{"Bytes  5-5/6", contentRange{5, 5, 6}, true},
		{"bytes 0-99/99", contentRange{}, false},
		{"bytes 9-1/100", contentRange{}, false},
		{"bytes */100", contentRange{}, false},
		{"items 0-1/2", contentRange{}, false},
		{"bytes -1-5/10", contentRange{}, false},
		{"bytes +1-5/10", contentRange{}, false},
		{"bytes 0-99999999999999999999/1", contentRange{}, false},
		{"", contentRange{}, false},
	}
	for _, tt := range tests {
		got, err := parseContentRange(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("parseContentRange(%q) = %+v, %v; want %+v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-99/100", "bytes 100-199/*", "bytes 1048576-67108863/67108864", "bytes */5", "bytes 0-0/1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cr, err := parseContentRange(s)
		if err != nil {
			return
		}
		if cr.First < 0 || cr.Last < cr.First || (cr.Total >= 0 && cr.Last >= cr.Total) || cr.Total < -1 {
			t.Fatalf("parseContentRange(%q) = %+v: inconsistent", s, cr)
		}
		total := "*"
		if cr.Total >= 0 {
			total = fmt.Sprint(cr.Total)
		}
		again, err := parseContentRange(fmt.Sprintf("bytes %d-%d/%s", cr.First, cr.Last, total))
		if err != nil || again != cr {
			t.Fatalf("re-encoding %+v gives %+v, %v", cr, again, err)
		}
	})
}

func FuzzManifest(f *testing.F) {
	b, _ := os.ReadFile(filepath.Join(pkgDir, "manifest.json"))
	f.Add(b)
	f.Add([]byte(`{"images":[{"component":"a","file":"x","sha256":"` + strings.Repeat("0", 64) + `"}]}`))
	f.Add([]byte(`{"images":[{"component":"a","file":"../x","sha256":"` + strings.Repeat("0", 64) + `"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			return
		}
		for _, im := range m.Images {
			if checkName(im.File) != nil || im.Component == "" || len(im.SHA256) != 64 {
				t.Fatalf("accepted bad image %+v", im)
			}
		}
	})
}

func FuzzUnpackZip(f *testing.F) {
	// Small seeds keep the fuzzer fast; the real-tool fixtures are in TestUnpackFixtures.
	img := []byte("tiny image")
	for _, z := range [][]zent{
		{{name: "rootfs.img", data: img}},
		{{name: ManifestName, data: []byte(`{"images":[{"component":"c0","version":"1","file":"a/b.img","sha256":"` + sha256hex(img) + `"}]}`)}, {name: "a/b.img", data: img}},
		{{name: "link", mode: 0o777 | fs.ModeSymlink, data: []byte("/etc")}},
		{{name: "a", data: img, rawLen: 3}},
	} {
		b, _ := os.ReadFile(makeZip(f, z...))
		f.Add(b)
	}
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Fuzz(func(t *testing.T, b []byte) {
		tmp, err := os.MkdirTemp("", "fuzzunpack")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(tmp)
		p := filepath.Join(tmp, "pkg")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(tmp, "out")
		os.Mkdir(dir, 0o700)
		ents, err := unpackAll(p, dir)
		if err != nil {
			return
		}
		for _, e := range ents {
			if e.Path != p && filepath.Dir(e.Path) != dir {
				t.Fatalf("entry written outside %s: %s", dir, e.Path)
			}
			if st, err := os.Lstat(e.Path); err != nil || st.Size() != e.Size || !st.Mode().IsRegular() {
				t.Fatalf("entry %+v: %v", e, err)
			}
		}
	})
}

func FuzzJournal(f *testing.F) {
	h := newHashes()
	h.Write([]byte("some bytes"))
	m, s, _ := h.marshal()
	j := &journal{Version: journalVersion, URL: "https://x/fw.bin", WantSize: 100, Total: 100, Offset: 10, Fetched: 10, ETag: `"e"`, MD5State: m, SHA256State: s}
	p := filepath.Join(f.TempDir(), "j")
	if err := j.save(p); err != nil {
		f.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	f.Add(b)
	f.Add([]byte(`{"version":1,"offset":-1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		j, err := decodeJournal(b)
		if err != nil {
			return
		}
		if j.Offset < 0 || (j.Total >= 0 && j.Offset > j.Total) {
			t.Fatalf("accepted inconsistent journal %+v", j)
		}
		if err := newHashesFor(len(j.MD5State) > 0).unmarshal(j.MD5State, j.SHA256State); err != nil {
			t.Fatalf("accepted journal with bad hash state: %v", err)
		}
	})
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
