package aliyun

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"ota-agent/transport"
)

// api is the name in every error and log line.
const api = "aliyun"

// APIVersion is the IoT API version sent as Version.
const APIVersion = "2018-01-20"

// Config is what New needs: Endpoint, AccessKeyID, AccessKeySecret and
// Modules are required.
type Config struct {
	Endpoint        string            // e.g. https://iot.cn-shanghai.aliyuncs.com or a Tuya host https://si-….tuyacloud.com:8686
	Region          string            // RegionId, e.g. cn-shanghai; "" leaves it out (Tuya)
	AccessKeyID     string            //
	AccessKeySecret string            // signs every request; never sent
	ProductKey      string            // lists only this product's packages; "" = every package of the account
	AcceptStatus    []int             // package Status values offered; nil = {1 verified, -1 no verification needed}
	Modules         map[string]string // ModuleName → component; the empty ModuleName is "default"
	IotInstanceID   string            // IotInstanceId of an enterprise instance; "" = the public instance (left out)
	// Compare orders two DestVersions under the version scheme (-1, 0, +1,
	// or an error when they cannot be ordered); nil orders by upload time.
	Compare func(a, b string) (int, error)

	Client *http.Client     // nil: transport.HTTPClient(nil) (60 s timeout); https→http redirects refused unless it sets CheckRedirect
	Log    *slog.Logger     // nil: discard
	Now    func() time.Time // nil: time.Now; used for Timestamp
}

// Client lists and resolves OTA packages of one Alibaba Cloud IoT (or Tuya
// IoT Core) product. It implements transport.API and transport.URLResolver
// and is safe for use by one goroutine at a time.
type Client struct {
	cfg    Config
	hc     *http.Client
	log    *slog.Logger
	now    func() time.Time
	accept map[int]bool
}

var (
	_ transport.API         = (*Client)(nil)
	_ transport.URLResolver = (*Client)(nil)
)

// New returns a client for cfg. Configuration errors are reported by the
// first call, naming the field to fix.
func New(cfg Config) *Client {
	c := &Client{cfg: cfg, log: cfg.Log, now: cfg.Now, accept: map[int]bool{}}
	c.hc = transport.HTTPClient(cfg.Client)
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("component", "transport/aliyun")
	if c.now == nil {
		c.now = time.Now
	}
	status := cfg.AcceptStatus
	if status == nil {
		status = []int{1, -1}
	}
	for _, s := range status {
		c.accept[s] = true
	}
	return c
}

func (c *Client) validate(op string) error {
	var bad []string
	if c.cfg.Endpoint == "" {
		bad = append(bad, "endpoint is empty")
	}
	if c.cfg.AccessKeyID == "" {
		bad = append(bad, "access_key_id is empty")
	}
	if c.cfg.AccessKeySecret == "" {
		bad = append(bad, "access key secret is empty (access_key_secret_file)")
	}
	if len(c.cfg.Modules) == 0 {
		bad = append(bad, `modules is empty (e.g. modules = { default = "rootfs" })`)
	}
	if len(bad) == 0 {
		return nil
	}
	return &transport.Error{API: api, Op: op, Msg: "[server.aliyun]: " + strings.Join(bad, "; ")}
}

// call signs params plus the common parameters for action, GETs them and
// decodes the answer into v (*listAnswer or *queryAnswer). Every call gets a
// fresh Timestamp, SignatureNonce and Signature.
func (c *Client) call(ctx context.Context, op, action string, params map[string]string, v interface{ env() *envelope }) error {
	p := map[string]string{
		"Action": action, "Format": "JSON", "Version": APIVersion, "AccessKeyId": c.cfg.AccessKeyID,
		"SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": newNonce(),
		"Timestamp": c.now().UTC().Format("2006-01-02T15:04:05Z"),
	}
	if c.cfg.Region != "" {
		p["RegionId"] = c.cfg.Region
	}
	if c.cfg.IotInstanceID != "" {
		p["IotInstanceId"] = c.cfg.IotInstanceID
	}
	for k, v := range params {
		p[k] = v
	}
	q := CanonicalQuery(p) + "&Signature=" + PercentEncode(Sign(http.MethodGet, p, c.cfg.AccessKeySecret))
	u := strings.TrimRight(c.cfg.Endpoint, "/") + "/?" + q
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return &transport.Error{API: api, Op: op, Msg: "bad endpoint " + strconv.Quote(c.cfg.Endpoint), Err: err}
	}
	req.Header.Set("Accept", "application/json")
	// A signed request is never sent twice: its nonce is spent once it
	// reaches the server. Go's transport silently resends an idempotent
	// request when a reused keep-alive connection turns out dead; a fresh
	// connection per call (closed after the answer) rules that out, and a
	// dropped call fails here to be retried with a new nonce.
	req.Close = true
	c.log.Debug("request", "action", action, "url", redact(req.URL))
	resp, err := c.hc.Do(req)
	if err != nil {
		return transport.NetworkError(api, op, err)
	}
	raw, err := transport.ReadBody(api, op, resp)
	if err != nil {
		return err
	}
	derr := decode(raw, v)
	if serr := transport.StatusError(api, op, resp, raw); serr != nil {
		return withServerCode(serr.(*transport.Error), v.env(), derr)
	}
	if derr != nil {
		return &transport.Error{API: api, Op: op, Status: resp.StatusCode, Msg: derr.Error()}
	}
	return successError(op, resp.StatusCode, v.env())
}

func (a *listAnswer) env() *envelope  { return &a.envelope }
func (a *queryAnswer) env() *envelope { return &a.envelope }

// redact drops the signature parts of a logged URL.
func redact(u *url.URL) string {
	return u.Scheme + "://" + u.Host + u.Path + "?Action=" + u.Query().Get("Action")
}
