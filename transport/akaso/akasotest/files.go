package akasotest

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"html"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// FilePrefix is the path below Server.URL where AddFile's packages live, as
// on the AKASO bucket ("https://akasogo.s3.amazonaws.com/package/...").
const FilePrefix = "/package/"

// modTime is every file's Last-Modified, so If-Range works across runs.
var modTime = time.Date(2023, 12, 7, 14, 6, 24, 0, time.UTC)

type file struct {
	data []byte
	etag string
}

// AddFile serves data as a package and returns its URL, built the way AKASO
// builds src: name is put in the path as given, raw spaces and "+" included,
// e.g. AddFile("20230217 V2.0.zip", b) = URL + "/package/20230217 V2.0.zip".
// Like S3, the server reads a "+" in the request path as a space, so a client
// that re-escapes "+" to "%2B" gets 404. Range and If-Range are supported
// (http.ServeContent); the ETag is the MD5 of data.
func (s *Server) AddFile(name string, data []byte) string {
	sum := md5.Sum(data)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[s3Key(name)] = file{data: bytes.Clone(data), etag: `"` + hex.EncodeToString(sum[:]) + `"`}
	return s.URL + FilePrefix + name
}

// RemoveFile stops serving the file AddFile(name, ...) added.
func (s *Server) RemoveFile(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.files, s3Key(name))
}

// s3Key is the object key S3 reads from a path: "+" is a space.
func s3Key(p string) string {
	k, err := url.PathUnescape(strings.ReplaceAll(p, "+", "%20"))
	if err != nil {
		return p
	}
	return k
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	key := s3Key(strings.TrimPrefix(r.URL.EscapedPath(), FilePrefix))
	s.mu.Lock()
	f, ok := s.files[key]
	s.mu.Unlock()
	if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>" + html.EscapeString(key) + "</Key></Error>"))
		return
	}
	w.Header().Set("ETag", f.etag)
	w.Header().Set("Content-Type", "application/zip")
	http.ServeContent(w, r, "", modTime, bytes.NewReader(f.data))
}
