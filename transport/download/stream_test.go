package download

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// memDest is a Dest in memory.
type memDest struct{ b []byte }

func (m *memDest) WriteAt(p []byte, off int64) (int, error) {
	if end := off + int64(len(p)); end > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
	}
	return copy(m.b[off:], p), nil
}
func (m *memDest) Sync() error { return nil }

// streamInto fetches url through a Stream routing the image of rootfs to img.
func streamInto(t *testing.T, url string, md5 string) (*memDest, *bytes.Buffer, Unpacked, error) {
	raw, img := &memDest{}, &bytes.Buffer{}
	st := NewStream(raw, Plan{Name: url, Component: "rootfs", Route: func(c string) (*Sink, error) {
		img.Reset()
		return &Sink{W: img, Limit: 1 << 20, LimitName: "the test slot"}, nil
	}})
	res, err := Fetch(t.Context(), testOptions(t), Request{URL: url, MD5: md5, Journal: filepath.Join(t.TempDir(), "j")}, st, nil)
	if err != nil {
		st.Abort()
		return raw, img, Unpacked{}, err
	}
	u, err := st.Finish(res)
	return raw, img, u, err
}

// TestHostileStreamRestart: a compressed package cut mid-way and answered
// 200 (no range support) on the retry unpacks again from zero: the image is
// whole, not the first half twice.
func TestHostileStreamRestart(t *testing.T) {
	img, _ := os.ReadFile(filepath.Join(pkgDir, "rootfs.img"))
	pkg, _ := os.ReadFile(filepath.Join(pkgDir, "rootfs.img.gz"))
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", itoa(len(pkg)))
		if n.Add(1) == 1 {
			w.Write(pkg[:len(pkg)/2])
			return // short body: the client sees unexpected EOF
		}
		w.Write(pkg)
	}))
	defer srv.Close()
	raw, got, u, err := streamInto(t, srv.URL+"/rootfs.img.gz", md5sum(pkg))
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	if !bytes.Equal(got.Bytes(), img) || u.Format != Gzip || len(raw.b) != 0 {
		t.Errorf("image %d bytes (want %d), format %s, raw writes %d; want the unpacked image only", got.Len(), len(img), u.Format, len(raw.b))
	}
	if e, _ := u.Entry("rootfs"); e.SHA256 != rootfsSHA {
		t.Errorf("entry sha256 %s, want %s", e.SHA256, rootfsSHA)
	}
}

// TestHostileStreamBomb: a gzip bomb fails while inflating with the cap
// named, and stops the download.
func TestHostileStreamBomb(t *testing.T) {
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	z.Write(make([]byte, 64<<20))
	z.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(buf.Bytes()) }))
	defer srv.Close()
	_, got, _, err := streamInto(t, srv.URL+"/bomb.gz", "")
	if err == nil || !strings.Contains(err.Error(), "unpacks to more than 1048576 bytes (the test slot)") {
		t.Fatalf("stream = %v, want the cap named", err)
	}
	if got.Len() > 1<<20 {
		t.Errorf("%d bytes written past the cap", got.Len())
	}
}

// TestHostileSymlinkStaging: a symlink planted where the package is staged
// is refused; its target is unchanged.
func TestHostileSymlinkStaging(t *testing.T) {
	s, req := newServer(t, 64<<10)
	_ = s
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("precious"), 0o644)
	os.Symlink(victim, StagePath(dir, "rootfs"))
	_, _, err := Stage(t.Context(), testOptions(t), req, dir, "rootfs", nil)
	if err == nil || !strings.Contains(err.Error(), "is a symlink; refusing to follow it") {
		t.Fatalf("Stage = %v, want the symlink refused", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("victim = %q", b)
	}
}

// TestHostileSymlinkJournal: a journal that is a symlink is not read, and
// saving the journal replaces the link instead of writing through it.
func TestHostileSymlinkJournal(t *testing.T) {
	_, req := newServer(t, 1<<20)
	victim := filepath.Join(t.TempDir(), "victim.json")
	os.WriteFile(victim, []byte(`{"precious": true}`), 0o644)
	os.Symlink(victim, req.Journal)
	if _, err := Fetch(t.Context(), testOptions(t), req, destFile(t), nil); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != `{"precious": true}` {
		t.Errorf("victim = %q", b)
	}
}

func md5sum(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

func itoa(n int) string { return strconv.Itoa(n) }
