package akaso

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"ota-agent/transport"
)

// apiName is the name every error and log line carries.
const apiName = "akaso"

// ListPath is getVersionList's path below the base URL
// (seed: base "http://192.168.1.36:8080/akaso").
const ListPath = "/version/upgrade/uploadPackage/getVersionList"

// Config configures a Client. BaseURL and Component are required.
type Config struct {
	BaseURL   string       // prefix before ListPath, e.g. "http://192.168.1.36:8080/akaso"
	Language  string       // ZH EN JP ZH-HK IT FR ES DE; "" is sent as is (the seed's curl does)
	Model     string       // device model; "" means transport.Device.Model at Check time
	Component string       // the component every offer is for ([server.akaso] component)
	Client    *http.Client // nil: transport.HTTPClient(nil); https→http redirects refused unless it sets CheckRedirect
	Log       *slog.Logger // nil means discard
}

// Client polls getVersionList. It implements transport.API and is safe for
// concurrent use.
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
	return &Client{cfg: cfg, hc: hc, log: log.With("component", "transport/akaso")}
}

// ListURL returns the URL Check fetches, e.g.
// "http://192.168.1.36:8080/akaso/version/upgrade/uploadPackage/getVersionList?language=EN".
func (c *Client) ListURL() string {
	return strings.TrimRight(c.cfg.BaseURL, "/") + ListPath + "?language=" + url.QueryEscape(c.cfg.Language)
}

// Check implements transport.API: it fetches the list once and returns at
// most one offer, for the newest (largest uid) entry whose model equals the
// configured model. Every failure is a *transport.Error.
func (c *Client) Check(ctx context.Context, dev transport.Device) ([]transport.Offer, error) {
	model := strings.TrimSpace(c.cfg.Model)
	if model == "" {
		model = strings.TrimSpace(dev.Model)
	}
	if model == "" || strings.TrimSpace(c.cfg.Component) == "" {
		return nil, &transport.Error{API: apiName, Op: "check", Msg: "device.model and server.akaso.component must be set"}
	}
	entries, err := c.fetch(ctx)
	if err != nil {
		return nil, err
	}
	e, ok, err := pick(entries, model)
	if err != nil {
		return nil, c.fail(err)
	}
	if !ok {
		c.noMatch(entries, model)
		return nil, nil
	}
	o, err := c.offer(e)
	if err != nil {
		return nil, c.fail(fmt.Errorf("entry uid %q for model %q: %w", e.UID, model, err))
	}
	return []transport.Offer{o}, nil
}

// Report implements transport.API. AKASO has no report endpoint; it returns nil.
func (c *Client) Report(ctx context.Context, r transport.Report) error { return nil }

func (c *Client) fail(err error) error {
	return &transport.Error{API: apiName, Op: "check", Msg: "GET " + c.ListURL(), Err: err}
}

// fetch GETs the list and decodes it.
func (c *Client) fetch(ctx context.Context) ([]Entry, error) {
	u := c.ListURL()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, &transport.Error{API: apiName, Op: "check", Msg: "bad server.base_url " + strconv.Quote(c.cfg.BaseURL), Err: err}
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, transport.NetworkError(apiName, "check", err)
	}
	body, err := transport.ReadBody(apiName, "check", resp)
	if err != nil {
		return nil, err
	}
	if err := transport.StatusError(apiName, "check", resp, body); err != nil {
		return nil, explainStatus(err, u)
	}
	entries, err := Decode(body)
	if err != nil {
		var ce *CodeError
		busy := errors.As(err, &ce) && ce.Busy()
		return nil, &transport.Error{API: apiName, Op: "check", Status: resp.StatusCode,
			Msg: "GET " + u + ": " + transport.Snippet(body), Retryable: busy, Err: err}
	}
	c.log.Debug("version list", "url", u, "entries", len(entries))
	return entries, nil
}

// pick returns the entry for model with the largest uid. Entries of other
// models are not checked for missing fields: one broken entry must not stop
// every other camera's updates.
func pick(entries []Entry, model string) (Entry, bool, error) {
	var best Entry
	var bestUID uint64
	n := 0
	for _, e := range entries {
		if strings.TrimSpace(e.Model) != model {
			continue
		}
		uid, err := strconv.ParseUint(strings.TrimSpace(e.UID), 10, 64)
		if err != nil {
			return Entry{}, false, fmt.Errorf("model %q: uid %q is not a decimal number, so entries cannot be ordered", model, e.UID)
		}
		if n == 0 || uid > bestUID {
			best, bestUID = e, uid
		}
		n++
	}
	return best, n > 0, nil
}

// noMatch logs that no entry fits, naming near misses (case or spaces).
func (c *Client) noMatch(entries []Entry, model string) {
	squash := func(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), "")) }
	for _, e := range entries {
		if squash(e.Model) == squash(model) {
			c.log.Warn("no entry for this exact model; models are compared exactly", "model", model, "near", e.Model)
			return
		}
	}
	c.log.Debug("no entry for model", "model", model, "entries", len(entries))
}

var md5RE = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)

// offer turns e into an Offer, checking the fields it needs.
func (c *Client) offer(e Entry) (transport.Offer, error) {
	v := strings.TrimSpace(e.VersionName)
	sum := strings.TrimSpace(e.MD5Check)
	switch {
	case v == "":
		return transport.Offer{}, fmt.Errorf("version_name is missing or empty")
	case e.Src == "":
		return transport.Offer{}, fmt.Errorf("src is missing or empty")
	case !md5RE.MatchString(sum):
		return transport.Offer{}, fmt.Errorf("md5check %q is not 32 hex digits", e.MD5Check)
	}
	if err := checkSrc(e.Src); err != nil {
		return transport.Offer{}, err
	}
	size, ok := ParseFileSize(e.FileSize)
	if !ok {
		c.log.Debug("fileSize not understood; size unknown", "fileSize", e.FileSize, "version", v)
	}
	return transport.Offer{
		Component:      strings.TrimSpace(c.cfg.Component),
		Version:        v,
		URL:            e.Src,
		Size:           size,
		SizeIsEstimate: ok,
		MD5:            strings.ToLower(sum),
		UpgradeType:    transport.Default,
		MinVersion:     strings.TrimSpace(e.MinVersionName),
		Notes:          strings.TrimSpace(e.OTALog),
		ID:             strings.TrimSpace(e.UID),
	}, nil
}

// checkSrc makes sure the download URL, used verbatim, is one Go can request.
func checkSrc(src string) error {
	req, err := http.NewRequest(http.MethodGet, src, nil)
	if err != nil {
		return fmt.Errorf("src %q is not a usable URL: %w", src, err)
	}
	if (req.URL.Scheme != "http" && req.URL.Scheme != "https") || req.URL.Host == "" {
		return fmt.Errorf("src %q is not an http(s) URL", src)
	}
	return nil
}

// explainStatus names the URL in a bad-status error and, for a 404, the
// likely configuration slip.
func explainStatus(err error, u string) error {
	var e *transport.Error
	if !errors.As(err, &e) {
		return err
	}
	e.Msg = "GET " + u + ": " + e.Msg
	if e.Status == http.StatusNotFound {
		e.Msg += "; check server.base_url: it is the prefix before " + ListPath + ` (e.g. "http://host:8080/akaso")`
	}
	return e
}
