// Package upgradelinktest is a fake UpgradeLink server for tests, the demo and
// the simulator. Like the real one it checks the signature headers, the
// ±5 minute timestamp window, nonce reuse and the access key, and answers
// with the documented codes; it serves strategies set with SetStrategy or
// Publish, answers queued with Enqueue (the seed samples verbatim), package
// files with Range support, and records every request.
//
// It does not import testing. All methods are safe for concurrent use.
package upgradelinktest

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// The credentials a zero Config uses: the docs' example values.
const (
	DefaultAccessKey = "mui2W50H1j-OC4xD6PgQag"
	DefaultSecretKey = "89c8b3d5f2a74e1b"
)

// Config sets up a Server. The zero value works.
type Config struct {
	AccessKey string           // "" = DefaultAccessKey
	SecretKey string           // "" = DefaultSecretKey
	Skew      time.Duration    // accepted X-Timestamp offset; 0 = 5 minutes
	Now       func() time.Time // the server's clock; nil = time.Now
	Log       *slog.Logger     // nil = discard
}

// Strategy is what the server offers for one kind and key: offered to a
// device whose versionCode is below VersionCode.
type Strategy struct {
	VersionName          string
	VersionCode          int64
	UpgradeType          int             // 1 prompt, 2 silent, 3 forced
	PromptUpgradeContent string          //
	Content              json.RawMessage // configuration only
	URLPath              string          // file, url, lnx
	URLFileSize          int64           // file, lnx
	URLFileMd5           string          // lnx
	PackageName          string          // lnx
	Arch                 string          // lnx: offered only to this arch; "" = any
}

// Answer is a canned reply, sent verbatim once the request has passed the
// signature checks.
type Answer struct {
	Status int // 0 = 200
	Header http.Header
	Body   []byte
}

// Request is one request the server received and what it answered.
type Request struct {
	Method string
	Path   string // the request URI
	Header http.Header
	Body   []byte
	Status int   // HTTP status answered
	Code   int64 // the code in the answer (0 for files)
}

// Report is an accepted /v1/app/report body.
type Report struct {
	EventType string         `json:"eventType"`
	AppKey    string         `json:"appKey"`
	Timestamp string         `json:"timestamp"`
	EventData map[string]any `json:"eventData"`
}

// Server is a running fake. Close it when done.
type Server struct {
	URL string // base URL, e.g. http://127.0.0.1:41234

	cfg  Config
	log  *slog.Logger
	http *httptest.Server

	mu         sync.Mutex
	strategies map[string]Strategy // "kind/key"
	files      map[string][]byte
	queue      map[string][]Answer
	nonces     map[string]bool
	reqs       []Request
	reports    []Report
}

// NewServer starts a fake on 127.0.0.1.
func NewServer(cfg Config) *Server {
	if cfg.AccessKey == "" {
		cfg.AccessKey = DefaultAccessKey
	}
	if cfg.SecretKey == "" {
		cfg.SecretKey = DefaultSecretKey
	}
	if cfg.Skew == 0 {
		cfg.Skew = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, log: cfg.Log, strategies: map[string]Strategy{}, files: map[string][]byte{},
		queue: map[string][]Answer{}, nonces: map[string]bool{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.http = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.http.URL
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.http.Close() }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.http.Client() }

// SetStrategy sets what /v1/<kind>/upgrade offers for key.
func (s *Server) SetStrategy(kind, key string, st Strategy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.strategies[kind+"/"+key] = st
}

// Publish serves data as version versionCode for kind and key and returns the
// strategy it set: the file is served by the fake, its size is set, and its
// MD5 too for kind "lnx" (the file kind carries no digest).
func (s *Server) Publish(kind, key string, versionCode int64, upgradeType int, data []byte) Strategy {
	st := Strategy{
		VersionName: fmt.Sprintf("v%d", versionCode), VersionCode: versionCode, UpgradeType: upgradeType,
		URLPath:     s.AddFile(fmt.Sprintf("%s-%s-%d.bin", kind, key, versionCode), data),
		URLFileSize: int64(len(data)),
	}
	if kind == "lnx" {
		sum := md5.Sum(data)
		st.URLFileMd5 = hex.EncodeToString(sum[:])
	}
	s.SetStrategy(kind, key, st)
	return st
}

// AddFile serves data at the returned URL (GET and HEAD, Range supported).
func (s *Server) AddFile(name string, data []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[name] = data
	return s.URL + "/files/" + url.PathEscape(name)
}

// Enqueue makes the next signed request to path (e.g. "/v1/file/upgrade")
// get a instead of the normal answer. Answers queued for one path are used in
// order, once each.
func (s *Server) Enqueue(path string, a Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue[path] = append(s.queue[path], a)
}

// Requests returns a copy of every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Reports returns the reports accepted so far.
func (s *Server) Reports() []Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Report(nil), s.reports...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rec := &Request{Method: r.Method, Path: r.RequestURI, Header: r.Header.Clone(), Body: body}
	if name, ok := strings.CutPrefix(r.URL.Path, "/files/"); ok {
		rec.Status = s.serveFile(w, r, name)
	} else {
		rec.Status, rec.Code = s.serveAPI(w, r, body)
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, *rec)
	s.mu.Unlock()
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, name string) int {
	s.mu.Lock()
	data, ok := s.files[name]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return http.StatusNotFound
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	http.ServeContent(sw, r, name, time.Unix(1700000000, 0), bytes.NewReader(data))
	return sw.status
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// apiError is an answer with a documented code: HTTP status = code/1000.
type apiError struct {
	code int64
	msg  string
}

func fail(code int64, format string, args ...any) *apiError {
	return &apiError{code: code, msg: fmt.Sprintf(format, args...)}
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, body []byte) (int, int64) {
	if e := s.authenticate(r, body); e != nil {
		return writeError(w, e)
	}
	s.mu.Lock()
	q := s.queue[r.URL.Path]
	if len(q) > 0 {
		s.queue[r.URL.Path] = q[1:]
	}
	s.mu.Unlock()
	if len(q) > 0 {
		return writeAnswer(w, q[0])
	}
	if r.URL.Path == "/v1/app/report" {
		return s.report(w, body)
	}
	kind, ok := strings.CutPrefix(r.URL.Path, "/v1/")
	kind, ok2 := strings.CutSuffix(kind, "/upgrade")
	if !ok || !ok2 || keyField[kind] == "" {
		return writeError(w, fail(404003, "no handler for %s %s", r.Method, r.URL.Path))
	}
	return s.upgrade(w, kind, body)
}

func writeError(w http.ResponseWriter, e *apiError) (int, int64) {
	status := int(e.code / 1000)
	if e.code >= 100000000 {
		status = int(e.code / 1000000)
	}
	b, _ := json.Marshal(map[string]any{"code": e.code, "msg": e.msg, "docs": "", "data": nil})
	writeJSON(w, status, b)
	return status, e.code
}

func writeAnswer(w http.ResponseWriter, a Answer) (int, int64) {
	for k, v := range a.Header {
		w.Header()[k] = v
	}
	if a.Status == 0 {
		a.Status = http.StatusOK
	}
	writeJSON(w, a.Status, a.Body)
	var env struct{ Code int64 }
	json.Unmarshal(a.Body, &env) // best effort: only for the record
	return a.Status, env.Code
}

func writeJSON(w http.ResponseWriter, status int, b []byte) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(status)
	w.Write(b)
}

// signature is the server's rule (signature_middleware.go): a map of the
// parts, keys sorted, k=v joined with &, MD5 in lower-case hex. A POST always
// has a body part, even an empty one.
func signature(secret string, body []byte, nonce, ts, uri string) string {
	parts := map[string]string{"body": string(body), "nonce": nonce, "secretKey": secret, "timestamp": ts, "url": uri}
	keys := make([]string, 0, len(parts))
	for k := range parts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	for i, k := range keys {
		if i > 0 {
			sb.WriteByte('&')
		}
		sb.WriteString(k + "=" + parts[k])
	}
	return fmt.Sprintf("%x", md5.Sum([]byte(sb.String())))
}
