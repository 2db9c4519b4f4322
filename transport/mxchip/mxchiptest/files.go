package mxchiptest

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// FilePrefix is the path below Server.URL where AddFile's packages live.
const FilePrefix = "/files/"

// modTime is every file's Last-Modified, so If-Range works across runs.
var modTime = time.Date(2018, 11, 13, 22, 34, 47, 0, time.UTC)

type blob struct {
	data []byte
	etag string
}

// AddFile serves data at URL + "/files/" + name (name path-escaped) with
// Range and If-Range support, and returns that URL. The MD5 of data, which
// a File needs, is MD5Hex(data).
func (s *Server) AddFile(name string, data []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blobs[name] = blob{data: bytes.Clone(data), etag: `"` + MD5Hex(data) + `"`}
	return s.URL + FilePrefix + url.PathEscape(name)
}

// MD5Hex returns the lower-case hex MD5 of data.
func MD5Hex(data []byte) string {
	sum := md5.Sum(data)
	return hex.EncodeToString(sum[:])
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	b, ok := s.blobs[strings.TrimPrefix(r.URL.Path, FilePrefix)]
	s.mu.Unlock()
	if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("ETag", b.etag)
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", modTime, bytes.NewReader(b.data))
}
