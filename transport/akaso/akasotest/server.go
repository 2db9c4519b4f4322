// Package akasotest is a fake AKASO getVersionList server on 127.0.0.1, for
// tests, `ota-agent demo` and `ota-agent simulate`. It serves the seed's
// 13-entry sample verbatim until told otherwise, can answer with errors,
// status codes and garbage, serves package files the way S3 does (a "+" in
// the path is a space, Range supported), and records every request.
package akasotest

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// ListPath is where the list is served, below Server.URL.
const ListPath = "/akaso/version/upgrade/uploadPackage/getVersionList"

// SeedJSON is the seed's sample answer (seed-apis.md §1.5), byte for byte.
//
//go:embed seed.json
var SeedJSON []byte

// Entry is one element of the list, with the wire's field names and types.
type Entry struct {
	UID            string `json:"uid"`
	MD5Check       string `json:"md5check"`
	ModifyDate     string `json:"modify_date"`
	OTALog         string `json:"otaLog"`
	Model          string `json:"model"`
	Src            string `json:"src"`
	VersionName    string `json:"version_name"`
	FileSize       string `json:"fileSize"`
	MinVersionName string `json:"min_version_name"`
}

// SeedEntries returns the seed sample decoded, in its order.
func SeedEntries() []Entry {
	var es []Entry
	if err := json.Unmarshal(SeedJSON, &es); err != nil {
		panic("akasotest: embedded seed.json does not decode: " + err.Error()) // a build defect, not input
	}
	return es
}

// Answer is a canned HTTP answer that replaces the list.
type Answer struct {
	Status int         // 0 means 200
	Header http.Header // e.g. Retry-After, Content-Type; may be nil
	Body   []byte
}

// Request is one request the server received.
type Request struct {
	Method     string
	RequestURI string // exactly as sent on the wire, e.g. "/package/20230217%20V2.0.zip"
	Header     http.Header
	Language   string // the language query parameter, for list requests
}

// Options configure NewServer.
type Options struct {
	Entries []Entry      // nil serves SeedJSON verbatim
	Log     *slog.Logger // nil means discard
}

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	// URL is the server's root, e.g. "http://127.0.0.1:34567".
	URL string
	// BaseURL is what to configure as server.base_url: URL + "/akaso".
	BaseURL string

	srv    *httptest.Server
	log    *slog.Logger
	mu     sync.Mutex
	body   []byte   // the list answer
	fail   []Answer // served first, one per list request
	sticky *Answer  // served instead of the list while set
	reqs   []Request
	files  map[string]file
}

// NewServer starts a fake on 127.0.0.1. Close it when done.
func NewServer(opts Options) *Server {
	s := &Server{log: opts.Log, files: map[string]file{}, body: SeedJSON}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if opts.Entries != nil {
		s.SetEntries(opts.Entries)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	s.BaseURL = s.URL + "/akaso"
	return s
}

// Close shuts the server down, closing client connections.
func (s *Server) Close() { s.srv.CloseClientConnections(); s.srv.Close() }

// CloseClientConnections drops every open connection, e.g. to cut a download.
func (s *Server) CloseClientConnections() { s.srv.CloseClientConnections() }

// SetEntries makes the list answer these entries, encoded like the real
// server (no HTML escaping, so "+" and "&" stay literal).
func (s *Server) SetEntries(es []Entry) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if es == nil {
		es = []Entry{}
	}
	_ = enc.Encode(es) // []Entry of strings always encodes
	s.SetRaw(buf.Bytes())
}

// SetRaw makes the list answer exactly body with status 200 (e.g. an object,
// a number where a string belongs, or the seed's pretty-printed page copy).
func (s *Server) SetRaw(body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body = bytes.Clone(body)
}

// SetAnswer serves a instead of the list until SetAnswer(nil).
func (s *Server) SetAnswer(a *Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sticky = a
}

// FailNext queues answers served, one each, to the next list requests before
// the list itself, e.g. FailNext(Answer{Status: 503, Header: http.Header{"Retry-After": {"7"}}}).
func (s *Server) FailNext(as ...Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = append(s.fail, as...)
}

// Requests returns a copy of every request received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{Method: r.Method, RequestURI: r.RequestURI, Header: r.Header.Clone(),
		Language: r.URL.Query().Get("language")})
	s.mu.Unlock()
	s.log.Debug("request", "method", r.Method, "uri", r.RequestURI)
	switch {
	case r.URL.Path == ListPath:
		s.serveList(w, r)
	case strings.HasPrefix(r.URL.Path, FilePrefix):
		s.serveFile(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) serveList(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	a := s.nextAnswer()
	for k, v := range a.Header {
		w.Header()[k] = v
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	if a.Status == 0 {
		a.Status = http.StatusOK
	}
	w.WriteHeader(a.Status)
	_, _ = w.Write(a.Body)
}

func (s *Server) nextAnswer() Answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fail) > 0 {
		a := s.fail[0]
		s.fail = s.fail[1:]
		return a
	}
	if s.sticky != nil {
		return *s.sticky
	}
	return Answer{Body: s.body}
}
