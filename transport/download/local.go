package download

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LocalHost is the host of the URLs LocalFiles answers. The .invalid
// top-level domain never resolves, so such a URL reaches nothing without
// LocalFiles.
const LocalHost = "install.ota-agent.invalid"

// LocalFiles answers GET and HEAD requests for one local file (and the
// detached signature next to it) the way a server would, without a socket,
// and passes every other request to Next. `ota-agent install PATH` uses it
// so that a local image takes the same path through Fetch as a download
// (digests, journal, streaming into the slot, signatures) while each byte
// is read once, straight into Fetch's buffers, instead of being copied
// through a loopback connection. It honours `Range: bytes=N-` (206, 416
// past the end) and If-Range against its Last-Modified; any other Range is
// answered with the whole file, as servers may.
type LocalFiles struct {
	Next  http.RoundTripper
	f     *os.File
	size  int64
	mod   string
	paths map[string]string // URL path → file path
}

// NewLocalFiles opens path (a regular file) and returns the transport and
// the URL it answers for it: LocalHost, a random first segment so that two
// installs never share one URL (nor its journal or written-slot record),
// then the file's base name. path+sigSuffix is answered too, read when
// asked for (404 if absent). Close releases the file.
func NewLocalFiles(path, sigSuffix string, next http.RoundTripper) (*LocalFiles, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("install: %w", err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, "", fmt.Errorf("install: %s is not a regular file", path)
	}
	nonce := make([]byte, 8)
	rand.Read(nonce)
	dir := "/" + hex.EncodeToString(nonce) + "/"
	base := filepath.Base(path)
	l := &LocalFiles{Next: next, f: f, size: fi.Size(), mod: fi.ModTime().UTC().Format(http.TimeFormat),
		paths: map[string]string{dir + base: path}}
	if sigSuffix != "" {
		l.paths[dir+base+sigSuffix] = path + sigSuffix
	}
	u := url.URL{Scheme: "http", Host: LocalHost, Path: dir + base}
	return l, u.String(), nil
}

// Close closes the file.
func (l *LocalFiles) Close() error { return l.f.Close() }

// RoundTrip implements http.RoundTripper.
func (l *LocalFiles) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != LocalHost {
		return l.Next.RoundTrip(req)
	}
	if req.Body != nil {
		req.Body.Close()
	}
	path, ok := l.paths[req.URL.Path]
	switch {
	case req.Method != http.MethodGet && req.Method != http.MethodHead:
		return respond(req, http.StatusMethodNotAllowed, 0, nil, nil), nil
	case !ok:
		return respond(req, http.StatusNotFound, 0, nil, nil), nil
	case path != l.f.Name():
		return l.serveOther(req, path)
	}
	return l.serve(req), nil
}

// serve answers for the image: the whole file, or from the start of a
// `bytes=N-` range.
func (l *LocalFiles) serve(req *http.Request) *http.Response {
	h := http.Header{"Last-Modified": {l.mod}, "Accept-Ranges": {"bytes"}}
	from, ranged := parseRangeFrom(req.Header.Get("Range"))
	if ir := req.Header.Get("If-Range"); ir != "" && ir != l.mod {
		ranged = false
	}
	if !ranged {
		return respond(req, http.StatusOK, l.size, h, io.NewSectionReader(l.f, 0, l.size))
	}
	if from >= l.size {
		h.Set("Content-Range", fmt.Sprintf("bytes */%d", l.size))
		return respond(req, http.StatusRequestedRangeNotSatisfiable, 0, h, nil)
	}
	h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, l.size-1, l.size))
	return respond(req, http.StatusPartialContent, l.size-from, h, io.NewSectionReader(l.f, from, l.size-from))
}

// serveOther answers for the signature file, whole.
func (l *LocalFiles) serveOther(req *http.Request, path string) (*http.Response, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return respond(req, http.StatusNotFound, 0, nil, nil), nil
	}
	if err != nil {
		return nil, fmt.Errorf("install: %w", err)
	}
	return respond(req, http.StatusOK, int64(len(b)), nil, bytes.NewReader(b)), nil
}

// respond builds a response of n body bytes from body (none for HEAD).
func respond(req *http.Request, code int, n int64, h http.Header, body io.Reader) *http.Response {
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	r := &http.Response{Status: fmt.Sprintf("%d %s", code, http.StatusText(code)), StatusCode: code,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h, ContentLength: n, Request: req, Body: http.NoBody}
	if body != nil && req.Method != http.MethodHead {
		r.Body = io.NopCloser(body)
	}
	return r
}

// parseRangeFrom returns N of a `bytes=N-` Range header; ok is false for
// any other form (or none).
func parseRangeFrom(v string) (from int64, ok bool) {
	n, found := strings.CutPrefix(v, "bytes=")
	if !found {
		return 0, false
	}
	n, found = strings.CutSuffix(n, "-")
	if !found || n == "" || strings.TrimLeft(n, "0123456789") != "" {
		return 0, false
	}
	from, err := strconv.ParseInt(n, 10, 64)
	return from, err == nil
}
