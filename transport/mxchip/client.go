package mxchip

import (
	"log/slog"
	"net/http"
	"strings"

	"ota-agent/transport"
)

// apiName is the name every error and log line carries.
const apiName = "mxchip"

// Paths below the base URL, trailing slashes included on purpose.
const (
	CheckPath   = "/api/v1/ota/device/"
	VersionPath = "/api/v1/ota/version/"
)

// OTA types of the check answer.
const (
	TypeMCU  = 0
	TypeWiFi = 1
)

// Config configures a Client. BaseURL, ProductID, Token and at least one of
// MCUComponent and WiFiComponent are required; DeviceID is required for
// Report.
type Config struct {
	BaseURL       string       // e.g. "http://121.40.214.215:8000"
	ProductID     string       // product_id
	Token         string       // the 40-hex key sent as "Authorization: token <key>"; trimmed
	DeviceID      string       // device_id of the version report
	MCUComponent  string       // component that ota_type 0 goes to; "" = none
	WiFiComponent string       // component that ota_type 1 goes to; "" = none
	WiFiVersion   string       // sent as wifi_version when WiFiComponent is ""; "" = "0"
	MCUVersion    string       // sent as mcu_version when MCUComponent is ""; "" = "0"
	Client        *http.Client // nil: transport.HTTPClient(nil); https→http redirects refused unless it sets CheckRedirect
	Log           *slog.Logger // nil means discard
}

// Client talks to the anxin OTA API. It implements transport.API and is
// safe for concurrent use.
type Client struct {
	cfg Config
	hc  *http.Client
	log *slog.Logger
}

var _ transport.API = (*Client)(nil)

// New returns a Client for cfg. It does no I/O.
func New(cfg Config) *Client {
	hc := transport.HTTPClient(cfg.Client)
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.Token = strings.TrimSpace(cfg.Token)
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return &Client{cfg: cfg, hc: hc, log: log.With("component", "transport/mxchip")}
}

// configError is a final error about the configuration.
func configError(op, msg string) error {
	return &transport.Error{API: apiName, Op: op, Msg: msg}
}

// componentFor maps an ota_type to the configured component ("" = none).
func (c *Client) componentFor(otaType int64) string {
	switch otaType {
	case TypeMCU:
		return c.cfg.MCUComponent
	case TypeWiFi:
		return c.cfg.WiFiComponent
	}
	return ""
}

// do sends req with the token and returns the answer's meta and data, or a
// *transport.Error for a transport failure, a bad status, a body that is not
// the envelope or a meta.code other than 0.
func (c *Client) do(req *http.Request, op string) (Meta, []byte, error) {
	req.Header.Set("Authorization", "token "+c.cfg.Token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return Meta{}, nil, transport.NetworkError(apiName, op, err)
	}
	body, err := transport.ReadBody(apiName, op, resp)
	if err != nil {
		return Meta{}, nil, err
	}
	if err := transport.StatusError(apiName, op, resp, body); err != nil {
		return Meta{}, nil, explainStatus(err, req, body)
	}
	meta, _, err := DecodeEnvelope(body)
	if err != nil {
		return Meta{}, nil, &transport.Error{API: apiName, Op: op, Status: resp.StatusCode,
			Msg: req.Method + " " + req.URL.Redacted() + ": " + transport.Snippet(body), Err: err}
	}
	if meta.Code != 0 {
		return meta, nil, codeError(op, req, meta)
	}
	return meta, body, nil
}
