package upgradelink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"ota-agent/transport"
)

// api is the name in every error and log line.
const api = "upgradelink"

// DefaultBaseURL is the hosted service. Self-hosted servers use their own.
const DefaultBaseURL = "https://api.upgrade.toolsetlink.com"

// Kinds whose upgrade endpoint this client speaks, with the body field that
// carries the key (configurationKey, fileKey, …).
var kindKeyField = map[string]string{
	"configuration": "configurationKey",
	"file":          "fileKey",
	"url":           "urlKey",
	"lnx":           "lnxKey",
}

// Config is what New needs. Only BaseURL, AccessKey, SecretKey, Kind, Key and
// Component are required; Arch too for Kind "lnx".
type Config struct {
	BaseURL     string // e.g. DefaultBaseURL; no trailing path
	AccessKey   string // X-AccessKey, the public id
	SecretKey   string // signs every request; never sent
	Kind        string // configuration | file | url | lnx
	Key         string // the configurationKey / fileKey / urlKey / lnxKey; also the report's appKey
	Arch        string // lnx only: x64 | arm64
	Component   string // the device component the offers are for
	DevModelKey string // optional device model key
	DevKey      string // optional device key (the device id or MAC)
	// AppointVersionCode asks for this versionCode instead of the latest
	// (appointVersionCode); 0 = the latest.
	AppointVersionCode int64
	// ReportDownload sends the download event before each install event,
	// as the SDK does, for components whose installer reports no download
	// event of its own (every type but ab).
	ReportDownload bool

	Client *http.Client     // nil: transport.HTTPClient(nil) (60 s timeout); https→http redirects refused unless it sets CheckRedirect
	Log    *slog.Logger     // nil: discard
	Now    func() time.Time // nil: time.Now; used for X-Timestamp and report times
}

// Client talks to one UpgradeLink application. It implements transport.API
// and is safe for use by one goroutine at a time.
type Client struct {
	cfg  Config
	hc   *http.Client
	log  *slog.Logger
	now  func() time.Time
	base string

	started    time.Time       // launchTime of app_start
	appStarted bool            // app_start delivered
	downloaded map[string]bool // versions whose download event was sent by downloadFirst
}

var _ transport.API = (*Client)(nil)

// New returns a client for cfg. Configuration errors are reported by the
// first Check or Report, naming the field to fix.
func New(cfg Config) *Client {
	c := &Client{cfg: cfg, log: cfg.Log, now: cfg.Now, downloaded: map[string]bool{}}
	c.hc = transport.HTTPClient(cfg.Client)
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("component", "transport/upgradelink")
	if c.now == nil {
		c.now = time.Now
	}
	c.base = strings.TrimRight(cfg.BaseURL, "/")
	c.started = c.now()
	return c
}

// validate checks the configuration for Check.
func (c *Client) validate() error {
	var bad []string
	if c.base == "" {
		bad = append(bad, "base_url is empty")
	}
	if c.cfg.AccessKey == "" {
		bad = append(bad, "access_key is empty")
	}
	if c.cfg.SecretKey == "" {
		bad = append(bad, "secret key is empty (secret_key_file)")
	}
	if _, ok := kindKeyField[c.cfg.Kind]; !ok {
		bad = append(bad, fmt.Sprintf("kind %q is not one of configuration, file, url, lnx", c.cfg.Kind))
	}
	if c.cfg.Key == "" {
		bad = append(bad, "key is empty")
	}
	if c.cfg.Kind == "lnx" && c.cfg.Arch == "" {
		bad = append(bad, `arch is empty (kind "lnx" needs x64 or arm64)`)
	}
	if c.cfg.Component == "" {
		bad = append(bad, "component is empty")
	}
	if len(bad) == 0 {
		return nil
	}
	return &transport.Error{API: api, Op: "config", Msg: "[server.upgradelink]: " + strings.Join(bad, "; ")}
}

// post signs and sends body to path and returns the decoded envelope of a
// successful (HTTP 2xx) answer. Each call uses a new nonce and timestamp.
func (c *Client) post(ctx context.Context, op, path string, body []byte) (*envelope, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, &transport.Error{API: api, Op: op, Msg: "bad base_url " + strconv.Quote(c.base), Err: err}
	}
	ts := c.now().Format(time.RFC3339)
	nonce := newNonce()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Timestamp", ts)
	req.Header.Set("X-Nonce", nonce)
	req.Header.Set("X-AccessKey", c.cfg.AccessKey)
	req.Header.Set("X-Signature", Sign(c.cfg.SecretKey, body, nonce, ts, path))
	c.log.Debug("request", "url", req.URL.Redacted(), "bytes", len(body))
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, transport.NetworkError(api, op, err)
	}
	raw, err := transport.ReadBody(api, op, resp)
	if err != nil {
		return nil, err
	}
	env, derr := decodeEnvelope(raw)
	if serr := transport.StatusError(api, op, resp, raw); serr != nil {
		return nil, withServerCode(serr, env, derr)
	}
	if derr != nil {
		return nil, &transport.Error{API: api, Op: op, Status: resp.StatusCode, Msg: derr.Error()}
	}
	return env, nil
}

// withServerCode adds the server's own code and message (when the error body
// decodes) to an HTTP status error.
func withServerCode(err error, env *envelope, derr error) error {
	var e *transport.Error
	if derr != nil || !errors.As(err, &e) {
		return err
	}
	e.Code = strconv.FormatInt(env.Code, 10)
	e.Msg = env.message() + hint(env.Code)
	return e
}

// codeError turns an answer with HTTP 200 but a code other than the expected
// ones into a final or retryable error following the HTTP/code table.
func codeError(op string, env *envelope) error {
	status := int(env.Code / 1000)
	if env.Code >= 100000000 {
		status = int(env.Code / 1000000)
	}
	return &transport.Error{
		API: api, Op: op, Code: strconv.FormatInt(env.Code, 10),
		Msg:       env.message() + hint(env.Code),
		Retryable: status == http.StatusTooManyRequests || status >= 500,
	}
}

// hint says what to fix for the codes a field engineer can act on.
func hint(code int64) string {
	switch code {
	case 401001:
		return " (check the device clock is within 5 minutes and access_key is right)"
	case 401002:
		return " (check secret_key_file holds the application's SecretKey)"
	case 400004:
		return " (a signature header was missing or malformed)"
	case 404001:
		return " (check key and kind match an application created on the server)"
	}
	return ""
}

// jsonString returns s as a JSON string literal. Marshalling a string
// cannot fail (invalid UTF-8 becomes U+FFFD).
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
