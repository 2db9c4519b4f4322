package upgradelink

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"ota-agent/transport"
)

// Check implements transport.API: it asks /v1/<kind>/upgrade whether a newer
// version exists for the component's current version (its versionCode) and
// returns no offers (code 0) or one (code 200).
func (c *Client) Check(ctx context.Context, dev transport.Device) ([]transport.Offer, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	cur, err := c.versionCode(dev)
	if err != nil {
		return nil, err
	}
	c.appStart(ctx, cur)
	body := c.upgradeBody(cur)
	env, err := c.post(ctx, "check", "/v1/"+c.cfg.Kind+"/upgrade", body)
	if err != nil {
		return nil, err
	}
	switch env.Code {
	case 0:
		c.log.Info("up to date", "version", cur)
		return nil, nil
	case 200:
	default:
		return nil, codeError("check", env)
	}
	o, err := c.offer(env)
	if err != nil {
		return nil, &transport.Error{API: api, Op: "check", Status: 200, Code: "200", Msg: err.Error()}
	}
	c.log.Info("offer", "version", o.Version, "url", o.URL, "upgrade_type", string(o.UpgradeType))
	return []transport.Offer{o}, nil
}

// versionCode returns the configured component's current version as the
// positive integer UpgradeLink wants.
func (c *Client) versionCode(dev transport.Device) (int64, error) {
	v, ok := dev.Versions[c.cfg.Component]
	if !ok {
		return 0, &transport.Error{API: api, Op: "check", Msg: fmt.Sprintf("no current version for component %q; check [server.upgradelink] component names a [[component]]", c.cfg.Component)}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n <= 0 {
		return 0, &transport.Error{API: api, Op: "check", Msg: fmt.Sprintf("component %q version %q is not a positive integer; UpgradeLink versions are versionCodes (set the component's version to e.g. \"1\")", c.cfg.Component, v)}
	}
	return n, nil
}

// appStart sends app_start once per Client (a daemon start, or one CLI
// run), before its first check, as the SDK does at launch: launchTime is
// when the Client was made. A failure is logged and tried again before the
// next check; it never stops the check.
func (c *Client) appStart(ctx context.Context, cur int64) {
	if c.appStarted {
		return
	}
	var b strings.Builder
	b.WriteString(`{"eventType":"app_start","appKey":` + jsonString(c.cfg.Key))
	b.WriteString(`,"timestamp":` + jsonString(c.now().Format(time.RFC3339)) + `,"eventData":{`)
	b.WriteString(`"launchTime":` + jsonString(c.started.Format(time.RFC3339)) + `,"versionCode":` + strconv.FormatInt(cur, 10))
	b.WriteString(c.deviceFields() + `}}`)
	env, err := c.post(ctx, "report app_start", "/v1/app/report", []byte(b.String()))
	if err == nil && env.Code != 0 {
		err = codeError("report app_start", env)
	}
	if err != nil {
		c.log.Warn("app_start not delivered; tried again at the next check", "err", err)
		return
	}
	c.appStarted = true
}

// deviceFields are the optional eventData fields, each with a leading comma.
func (c *Client) deviceFields() string {
	var b strings.Builder
	if c.cfg.DevModelKey != "" {
		b.WriteString(`,"devModelKey":` + jsonString(c.cfg.DevModelKey))
	}
	if c.cfg.DevKey != "" {
		b.WriteString(`,"devKey":` + jsonString(c.cfg.DevKey))
	}
	b.WriteString(`,"target":"linux"`)
	if c.cfg.Arch != "" {
		b.WriteString(`,"arch":` + jsonString(c.cfg.Arch))
	}
	return b.String()
}

// upgradeBody returns the request body, fields in the SDK's order, e.g.
// {"fileKey":"…","versionCode":1,"appointVersionCode":0,"devModelKey":"stv1","devKey":"…"}.
func (c *Client) upgradeBody(cur int64) []byte {
	var b strings.Builder
	b.WriteString(`{"` + kindKeyField[c.cfg.Kind] + `":` + jsonString(c.cfg.Key))
	b.WriteString(`,"versionCode":` + strconv.FormatInt(cur, 10) + `,"appointVersionCode":` + strconv.FormatInt(max(c.cfg.AppointVersionCode, 0), 10))
	if c.cfg.Kind == "lnx" {
		b.WriteString(`,"arch":` + jsonString(c.cfg.Arch))
	}
	if c.cfg.DevModelKey != "" {
		b.WriteString(`,"devModelKey":` + jsonString(c.cfg.DevModelKey))
	}
	if c.cfg.DevKey != "" {
		b.WriteString(`,"devKey":` + jsonString(c.cfg.DevKey))
	}
	b.WriteString("}")
	return []byte(b.String())
}

// offer turns a code-200 answer into the offer for the component.
func (c *Client) offer(env *envelope) (transport.Offer, error) {
	s, err := decodeStrategy(env.Data)
	if err != nil {
		return transport.Offer{}, err
	}
	if s.VersionCode <= 0 {
		return transport.Offer{}, fmt.Errorf("offer has versionCode %d, want a positive integer", s.VersionCode)
	}
	o := transport.Offer{
		Component:   c.cfg.Component,
		Version:     strconv.FormatInt(s.VersionCode, 10),
		URL:         strings.TrimSpace(s.URLPath),
		Size:        s.URLFileSize,
		MD5:         strings.ToLower(strings.TrimSpace(s.URLFileMd5)),
		UpgradeType: upgradeType(s.UpgradeType),
		Notes:       strings.TrimSpace(s.PromptUpgradeContent),
		ID:          c.cfg.Key + "@" + strconv.FormatInt(s.VersionCode, 10),
		Extra: map[string]string{
			"kind":        c.cfg.Kind,
			"key":         c.cfg.Key,
			"versionName": strings.TrimSpace(s.VersionName),
		},
	}
	if o.MD5 != "" && !isHex(o.MD5, 32) {
		return transport.Offer{}, fmt.Errorf("urlFileMd5 %q is not 32 hex digits", s.URLFileMd5)
	}
	if c.cfg.Kind == "configuration" {
		o.Payload, err = payload(s.Content)
		return o, err
	}
	if o.URL == "" {
		return transport.Offer{}, fmt.Errorf("offer for version %s has no urlPath", o.Version)
	}
	return o, nil
}

// upgradeType maps upgradeType 1/2/3; 0 ("unknown") and anything else leave
// the policy default.
func upgradeType(t int64) transport.UpgradeType {
	switch t {
	case 1:
		return transport.Prompt
	case 2:
		return transport.Silent
	case 3:
		return transport.Forced
	}
	return transport.Default
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}
