// Package mxchiptest is a fake MXChip "anxin" OTA server on 127.0.0.1, for
// tests, `ota-agent demo` and `ota-agent simulate`. It checks the token as
// Django REST framework does, answers the device check with the seed sample
// verbatim until given files, then decides need_ota itself from the versions
// the device sends, records version reports, serves package files with Range
// support, and can answer with errors, status codes and garbage.
package mxchiptest

import (
	"bytes"
	_ "embed"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
)

// SeedToken is the token printed in the seed document.
const SeedToken = "d79be1d657d9a8b45f6f903620e84b06cbf225e0"

// SeedCheckJSON is the seed's device check answer, byte for byte.
//
//go:embed seed_device.json
var SeedCheckJSON []byte

// File is one firmware the server knows. OTAType 0 is the MCU, 1 Wi-Fi.
type File struct {
	FileURL   string `json:"file_url"`
	MD5       string `json:"md5"`
	Version   string `json:"version"`
	OTAType   int    `json:"ota_type"`
	Customize string `json:"customize"`
}

// Answer is a canned HTTP answer served instead of the API's own.
type Answer struct {
	Status int         // 0 means 200
	Header http.Header // e.g. Retry-After; may be nil
	Body   []byte
}

// Request is one request the server received.
type Request struct {
	Method     string
	RequestURI string // as sent on the wire
	Header     http.Header
	Body       []byte
}

// VersionReport is one accepted PUT /api/v1/ota/version/.
type VersionReport struct {
	DeviceID    string `json:"device_id"`
	WiFiVersion string `json:"wifi_version"`
	MCUVersion  string `json:"mcu_version"`
}

// Options configure NewServer.
type Options struct {
	Token     string       // accepted token; "" means SeedToken
	ProductID string       // if set, other product_ids get error 10000
	Files     []File       // nil serves SeedCheckJSON verbatim
	Log       *slog.Logger // nil means discard
}

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	// URL is the server's root and the base_url to configure, e.g. "http://127.0.0.1:34567".
	URL string

	srv     *httptest.Server
	log     *slog.Logger
	token   string
	product string

	mu      sync.Mutex
	files   []File // nil: serve raw
	raw     []byte
	fail    []Answer
	sticky  *Answer
	reqs    []Request
	reports []VersionReport
	blobs   map[string]blob
}

// NewServer starts a fake on 127.0.0.1. Close it when done.
func NewServer(opts Options) *Server {
	s := &Server{log: opts.Log, token: opts.Token, product: opts.ProductID, raw: SeedCheckJSON, blobs: map[string]blob{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.token == "" {
		s.token = SeedToken
	}
	if opts.Files != nil {
		s.SetFiles(opts.Files)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down, closing client connections.
func (s *Server) Close() { s.srv.CloseClientConnections(); s.srv.Close() }

// CloseClientConnections drops every open connection, e.g. to cut a download.
func (s *Server) CloseClientConnections() { s.srv.CloseClientConnections() }

// Token returns the token the server accepts.
func (s *Server) Token() string { return s.token }

// SetFiles makes the server behave like the real one with these files
// online: a check gets need_ota true and the files whose version differs
// from the version the device sent for that module.
func (s *Server) SetFiles(fs []File) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files = append([]File{}, fs...)
}

// SetRaw makes every check answer exactly body with status 200 (after the
// token check), e.g. need_ota true with no files, or a wrong type.
func (s *Server) SetRaw(body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files, s.raw = nil, bytes.Clone(body)
}

// SetAnswer serves a instead of every API answer (check and report) until
// SetAnswer(nil). The token is still checked first.
func (s *Server) SetAnswer(a *Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sticky = a
}

// FailNext queues answers served, one each, to the next API requests.
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

// Reports returns every version report accepted so far, oldest first.
func (s *Server) Reports() []VersionReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]VersionReport(nil), s.reports...)
}

// canned returns the next queued or sticky answer, if any.
func (s *Server) canned() (Answer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fail) > 0 {
		a := s.fail[0]
		s.fail = s.fail[1:]
		return a, true
	}
	if s.sticky != nil {
		return *s.sticky, true
	}
	return Answer{}, false
}

func writeAnswer(w http.ResponseWriter, a Answer) {
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
