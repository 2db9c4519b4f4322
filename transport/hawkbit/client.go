package hawkbit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"ota-agent/transport"
)

// apiName is the name every error and log line carries.
const apiName = "hawkbit"

// DefaultSleep is the poll interval used until the server names one, or
// when its sleep cannot be parsed (hawkBit's own default).
const DefaultSleep = 5 * time.Minute

// Bounds on the server's sleep: a hostile "00:00:00" must not turn the agent
// into a busy loop, nor a "P9999D" park it for decades.
const (
	MinSleep = 10 * time.Second
	MaxSleep = 48 * time.Hour
)

// Config configures a Client. BaseURL, Tenant, ControllerID and one of
// TargetToken and GatewayToken are required.
type Config struct {
	BaseURL      string            // the server root, e.g. "https://hawkbit.example.com"
	Tenant       string            // e.g. "DEFAULT"
	ControllerID string            // the target's controllerId (device.id)
	TargetToken  string            // sent as "Authorization: TargetToken <t>"; secret
	GatewayToken string            // sent as "Authorization: GatewayToken <t>" when TargetToken is ""; secret
	Chunks       map[string]string // chunk name or part → component; name wins
	// Attributes are sent with configData besides the component versions
	// (e.g. model); keys and values as hawkBit allows (≤128 characters).
	Attributes map[string]string
	// StateFile keeps which feedback was delivered and which actions are
	// armed, so that a restart neither repeats nor forgets a step; "" keeps
	// it in memory only.
	StateFile string
	// ArmsOnDownload reports whether a successful download report of a
	// component means its install can no longer be stopped (ab: the slot
	// is armed next). nil: never.
	ArmsOnDownload func(component string) bool
	Client         *http.Client // nil: transport.HTTPClient(nil)
	Log            *slog.Logger // nil: discard
}

// Client talks to a hawkBit DDI server. It implements transport.API,
// transport.URLResolver and transport.Poller, and is safe for concurrent use.
type Client struct {
	cfg  Config
	hc   *http.Client
	log  *slog.Logger
	base *url.URL // scheme and host every link must share

	mu    sync.Mutex
	sleep time.Duration // last sleep the server gave, 0 = none yet
	st    *memory
}

var (
	_ transport.API         = (*Client)(nil)
	_ transport.URLResolver = (*Client)(nil)
	_ transport.Poller      = (*Client)(nil)
)

// New returns a Client for cfg. It reads StateFile (a missing file is an
// empty state) and does no network I/O.
func New(cfg Config) (*Client, error) {
	cfg.BaseURL = strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	cfg.TargetToken, cfg.GatewayToken = strings.TrimSpace(cfg.TargetToken), strings.TrimSpace(cfg.GatewayToken)
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, configError("setup", fmt.Sprintf("server.base_url %q is not an http(s) URL (e.g. https://hawkbit.example.com)", cfg.BaseURL))
	}
	if cfg.Tenant == "" || cfg.ControllerID == "" || (cfg.TargetToken == "" && cfg.GatewayToken == "") {
		return nil, configError("setup", "server.hawkbit.tenant, the controller id and a token (target_token_file or gateway_token_file) must be set")
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st, err := loadMemory(cfg.StateFile)
	if err != nil {
		return nil, configError("setup", err.Error())
	}
	return &Client{cfg: cfg, hc: transport.HTTPClient(cfg.Client), log: log.With("component", "transport/hawkbit"), base: u, st: st}, nil
}

// configError is a final error about the configuration.
func configError(op, msg string) error {
	return &transport.Error{API: apiName, Op: op, Msg: msg}
}

// BaseURL returns the controller base: <root>/<tenant>/controller/v1/<id>.
func (c *Client) BaseURL() string {
	return c.cfg.BaseURL + "/" + url.PathEscape(c.cfg.Tenant) + "/controller/v1/" + url.PathEscape(c.cfg.ControllerID)
}

// authorization is the Authorization header value.
func (c *Client) authorization() string {
	if c.cfg.TargetToken != "" {
		return "TargetToken " + c.cfg.TargetToken
	}
	return "GatewayToken " + c.cfg.GatewayToken
}

// sameHost reports whether u has the scheme, host and port of the base URL.
// Links elsewhere are refused: the token must not travel to another host.
func (c *Client) sameHost(u *url.URL) bool {
	return strings.EqualFold(u.Scheme, c.base.Scheme) && strings.EqualFold(u.Host, c.base.Host)
}

// checkLink parses a link href and refuses one outside the base host.
func (c *Client) checkLink(rel, href string) (*url.URL, error) {
	u, err := url.Parse(href)
	if err != nil || !u.IsAbs() {
		return nil, fmt.Errorf("link %s %q is not an absolute URL", rel, href)
	}
	if !c.sameHost(u) {
		hint := ""
		if strings.EqualFold(u.Host, c.base.Host) {
			hint = "; behind a TLS proxy set the server's server.forward-headers-strategy"
		}
		return nil, fmt.Errorf("link %s %q is not on %s://%s; refusing to send the token there%s", rel, u.Redacted(), c.base.Scheme, c.base.Host, hint)
	}
	return u, nil
}

// do sends one request with the token and returns the body of a 2xx answer.
// A non-2xx answer is a *transport.Error (see statusError).
func (c *Client) do(ctx context.Context, op, method, href string, body []byte) ([]byte, int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, href, rd)
	if err != nil {
		return nil, 0, configError(op, fmt.Sprintf("bad URL %q: %v", href, err))
	}
	req.Header.Set("Authorization", c.authorization())
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, 0, transport.NetworkError(apiName, op, err)
	}
	b, err := transport.ReadBody(apiName, op, resp)
	if err != nil {
		return nil, resp.StatusCode, err
	}
	return b, resp.StatusCode, c.statusError(op, req, resp, b)
}

// statusError maps an answer's status: 2xx nil; 409 and 429 retryable
// after at least a second (the DoS filter's window; hawkBit sends no
// Retry-After); 401 and 403 final with the likely cause.
func (c *Client) statusError(op string, req *http.Request, resp *http.Response, body []byte) error {
	err := transport.StatusError(apiName, op, resp, body)
	var e *transport.Error
	if !errors.As(err, &e) {
		return err
	}
	e.Msg = req.Method + " " + req.URL.Redacted() + ": " + e.Msg
	switch resp.StatusCode {
	case http.StatusConflict, http.StatusTooManyRequests:
		e.Retryable = true
		e.RetryAfter = max(e.RetryAfter, time.Second)
	case http.StatusUnauthorized:
		e.Msg += "; check the token in server.hawkbit." + c.tokenKey() + " and that this authentication mode is enabled on the server and the tenant"
	case http.StatusForbidden:
		e.Msg += "; the server's DoS filter blacklists this address"
	}
	return e
}

func (c *Client) tokenKey() string {
	if c.cfg.TargetToken != "" {
		return "target_token_file"
	}
	return "gateway_token_file"
}
