// Package aliyuntest is a fake Alibaba Cloud IoT (POP RPC) server for
// ListOTAFirmware and QueryOTAFirmware, for tests, the demo and the
// simulator. Like the real gateway it checks the common parameters, the
// HMAC-SHA1 signature (with its own implementation), the 15-minute timestamp
// window, nonce reuse and the AccessKeyId, and answers with the documented
// codes. It serves packages added with AddFirmware at presigned-looking OSS
// URLs that expire after Config.URLTTL (then 403), with Range support,
// answers queued with Enqueue (the samples verbatim), in PascalCase or the
// Tuya host's camelCase, and records every request.
//
// It does not import testing. All methods are safe for concurrent use.
package aliyuntest

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"time"
)

// The credentials a zero Config uses: the values of the POP test vectors.
const (
	DefaultAccessKeyID     = "testid"
	DefaultAccessKeySecret = "testsecret"
)

// Config sets up a Server. The zero value works.
type Config struct {
	AccessKeyID     string           // "" = DefaultAccessKeyID
	AccessKeySecret string           // "" = DefaultAccessKeySecret
	Skew            time.Duration    // accepted Timestamp offset; 0 = 15 minutes
	URLTTL          time.Duration    // lifetime of a presigned FirmwareUrl; 0 = 1 hour
	CamelCase       bool             // answer like the Tuya host (firmwareInfo, destVersion, …)
	Now             func() time.Time // the server's clock; nil = time.Now
	Log             *slog.Logger     // nil = discard
}

// Firmware is one package the fake lists.
type Firmware struct {
	ID          string // "" = a sequence number
	Name        string
	Desc        string
	ProductKey  string
	ProductName string
	ModuleName  string
	SrcVersion  string
	DestVersion string
	Type        int    // 0 full, 1 delta
	Status      int    // 0 unverified, 1 verified, 2 verifying, 3 failed, -1 none needed
	SignMethod  string // "" = MD5
	Sign        string // "" = the digest of Data
	Size        int64  // 0 = len(Data)
	UtcCreate   string // "" = now
	Data        []byte // the file served at the presigned URL
	// Files makes a multi-file package: listed without FirmwareSign,
	// SignMethod and FirmwareSize, queried with MultiFiles (Data unused).
	Files []File
}

// File is one file of a multi-file package.
type File struct {
	Name string
	Data []byte
}

// Answer is a canned reply, sent verbatim once the request has passed the
// gateway checks.
type Answer struct {
	Status int // 0 = 200
	Header http.Header
	Body   []byte
}

// Request is one request the server received and what it answered.
type Request struct {
	Action string            // "" for a file download
	Params map[string]string // the decoded query
	Path   string            // the request URI as sent
	Header http.Header
	Status int
	Code   string // the error code answered, "" on success
}

// Server is a running fake. Close it when done.
type Server struct {
	URL string // the endpoint, e.g. http://127.0.0.1:41234

	cfg  Config
	log  *slog.Logger
	http *httptest.Server

	mu     sync.Mutex
	fws    []Firmware
	queue  map[string][]Answer
	drop   map[string]int
	nonces map[string]bool
	reqs   []Request
}

// NewServer starts a fake on 127.0.0.1.
func NewServer(cfg Config) *Server {
	if cfg.AccessKeyID == "" {
		cfg.AccessKeyID = DefaultAccessKeyID
	}
	if cfg.AccessKeySecret == "" {
		cfg.AccessKeySecret = DefaultAccessKeySecret
	}
	if cfg.Skew == 0 {
		cfg.Skew = 15 * time.Minute
	}
	if cfg.URLTTL == 0 {
		cfg.URLTTL = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, log: cfg.Log, queue: map[string][]Answer{}, drop: map[string]int{}, nonces: map[string]bool{}}
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

// AddFirmware lists fw and returns its FirmwareId. Missing size, digest and
// creation time are filled in from Data and the clock.
func (s *Server) AddFirmware(fw Firmware) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fw.ID == "" {
		fw.ID = fmt.Sprint(len(s.fws) + 145)
	}
	if fw.SignMethod == "" && fw.Files == nil {
		fw.SignMethod = "MD5"
	}
	if fw.Sign == "" && fw.Files == nil {
		if fw.SignMethod == "SHA256" {
			sum := sha256.Sum256(fw.Data)
			fw.Sign = hex.EncodeToString(sum[:])
		} else {
			sum := md5.Sum(fw.Data)
			fw.Sign = hex.EncodeToString(sum[:])
		}
	}
	if fw.Size == 0 && fw.Files == nil {
		fw.Size = int64(len(fw.Data))
	}
	if fw.UtcCreate == "" {
		fw.UtcCreate = s.cfg.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	}
	s.fws = append(s.fws, fw)
	return fw.ID
}

// Enqueue makes the next request for action (e.g. "ListOTAFirmware") that
// passes the gateway checks get a. Answers are used in order, once each.
func (s *Server) Enqueue(action string, a Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue[action] = append(s.queue[action], a)
}

// DropNext makes the next n requests for action that pass the gateway
// checks (their nonce spent) end with the connection closed and no answer,
// as a load balancer dropping a keep-alive connection does.
func (s *Server) DropNext(action string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop[action] += n
}

// Requests returns a copy of every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rec := Request{Path: r.RequestURI, Header: r.Header.Clone(), Params: map[string]string{}}
	q, _ := url.ParseQuery(r.URL.RawQuery)
	for k, v := range q {
		rec.Params[k] = v[0]
	}
	if r.URL.Path == "/" {
		rec.Action = rec.Params["Action"]
		rec.Status, rec.Code = s.serveAPI(w, r, rec.Params)
	} else {
		rec.Status, rec.Code = s.serveFile(w, r)
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, rec)
	s.mu.Unlock()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, ok := v.([]byte)
	if !ok {
		b, _ = json.Marshal(v)
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
	}
	w.WriteHeader(status)
	w.Write(b)
}
