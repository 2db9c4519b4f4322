package mxchip

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"ota-agent/transport"
)

// CheckURL returns the URL Check fetches for these current versions, e.g.
// "http://h:8000/api/v1/ota/device/?product_id=p1&wifi_version=1.0&mcu_version=2.0".
func (c *Client) CheckURL(wifiVersion, mcuVersion string) string {
	return c.cfg.BaseURL + CheckPath + "?product_id=" + url.QueryEscape(c.cfg.ProductID) +
		"&wifi_version=" + url.QueryEscape(wifiVersion) + "&mcu_version=" + url.QueryEscape(mcuVersion)
}

// Check implements transport.API: it sends the current MCU and Wi-Fi
// versions from dev.Versions (see currentVersions for a module no
// component manages) and returns one offer per file the server says is
// needed, with Extra["ota_type"] set to "0" or "1", customize as Notes and
// verbatim in Extra["customize"]. A file for an unmanaged module comes back
// refused (Offer.Refused), shown as skipped. Every failure is a
// *transport.Error.
func (c *Client) Check(ctx context.Context, dev transport.Device) ([]transport.Offer, error) {
	wifi, mcu, err := c.currentVersions(dev.Versions)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.CheckURL(wifi, mcu), nil)
	if err != nil {
		return nil, configError("check", "bad server.base_url "+strconv.Quote(c.cfg.BaseURL)+": "+err.Error())
	}
	_, body, err := c.do(req, "check")
	if err != nil {
		return nil, err
	}
	_, data, err := DecodeCheck(body)
	if err != nil {
		return nil, &transport.Error{API: apiName, Op: "check", Msg: "GET " + req.URL.Redacted() + ": " + transport.Snippet(body), Err: err}
	}
	return c.offers(data)
}

// currentVersions returns the versions to send: a managed module's
// component version (missing: a configuration error), for a module no
// component manages the configured WiFiVersion / MCUVersion, else "0". The
// server answers an empty version with code 10000 on every poll.
func (c *Client) currentVersions(v map[string]string) (wifi, mcu string, err error) {
	if c.cfg.BaseURL == "" || c.cfg.ProductID == "" || c.cfg.Token == "" {
		return "", "", configError("check", "server.base_url, server.mxchip.product_id and the token (server.mxchip.token_file) must be set")
	}
	if c.cfg.MCUComponent == "" && c.cfg.WiFiComponent == "" {
		return "", "", configError("check", "set server.mxchip.mcu_component or wifi_component")
	}
	if wifi, err = current(v, c.cfg.WiFiComponent, "wifi", c.cfg.WiFiVersion); err != nil {
		return "", "", err
	}
	mcu, err = current(v, c.cfg.MCUComponent, "mcu", c.cfg.MCUVersion)
	return wifi, mcu, err
}

// UnmanagedVersion is sent for a module no component manages when no
// version is configured for it.
const UnmanagedVersion = "0"

// current is the version to send for one module (wifi or mcu).
func current(v map[string]string, comp, module, fixed string) (string, error) {
	if comp == "" {
		if fixed = strings.TrimSpace(fixed); fixed != "" {
			return fixed, nil
		}
		return UnmanagedVersion, nil
	}
	s, ok := v[comp]
	if s = strings.TrimSpace(s); !ok || s == "" {
		return "", configError("check", fmt.Sprintf("no current version for component %q (server.mxchip.%s_component); give it a version or version_command", comp, module))
	}
	return s, nil
}

// offers turns a successful check answer into offers.
func (c *Client) offers(d CheckData) ([]transport.Offer, error) {
	if !d.NeedOTA {
		c.log.Debug("server says no update needed", "files", len(d.Files))
		return nil, nil
	}
	if len(d.Files) == 0 {
		c.log.Info("server says need_ota but sends no files; no update")
		return nil, nil
	}
	var out []transport.Offer
	seen := map[int64]bool{}
	for i, f := range d.Files {
		if seen[f.OTAType] {
			return nil, c.fileError(i, f, fmt.Errorf("second file with ota_type %d; want at most one per module", f.OTAType))
		}
		seen[f.OTAType] = true
		comp := c.componentFor(f.OTAType)
		if comp == "" {
			c.log.Info("skipping file for a module with no configured component", "ota_type", f.OTAType, "version", f.Version, "url", f.FileURL)
			out = append(out, unmanaged(f))
			continue
		}
		o, err := offer(comp, f)
		if err != nil {
			return nil, c.fileError(i, f, err)
		}
		out = append(out, o)
	}
	return out, nil
}

// unmanaged is the refused offer shown for a file of a module this agent
// does not manage.
func unmanaged(f File) transport.Offer {
	module, key := "Wi-Fi", "wifi_component"
	if f.OTAType == TypeMCU {
		module, key = "MCU", "mcu_component"
	}
	why := fmt.Sprintf("ota_type %d is the %s module, which this agent does not manage (server.mxchip.%s is not set)", f.OTAType, module, key)
	if f.OTAType != TypeMCU && f.OTAType != TypeWiFi {
		why = fmt.Sprintf("ota_type %d is neither 0 (MCU) nor 1 (Wi-Fi)", f.OTAType)
	}
	return transport.Offer{Version: strings.TrimSpace(f.Version), URL: f.FileURL, Refused: why,
		Extra: map[string]string{"ota_type": strconv.FormatInt(f.OTAType, 10)}}
}

func (c *Client) fileError(i int, f File, err error) error {
	return &transport.Error{API: apiName, Op: "check", Msg: fmt.Sprintf("files[%d] (ota_type %d)", i, f.OTAType), Err: err}
}

var md5RE = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)

// offer checks f and turns it into an Offer for component comp.
func offer(comp string, f File) (transport.Offer, error) {
	v := strings.TrimSpace(f.Version)
	sum := strings.TrimSpace(f.MD5)
	switch {
	case v == "":
		return transport.Offer{}, fmt.Errorf("version is missing or empty")
	case !md5RE.MatchString(sum):
		return transport.Offer{}, fmt.Errorf("md5 %q is not 32 hex digits", f.MD5)
	}
	req, err := http.NewRequest(http.MethodGet, f.FileURL, nil)
	if err != nil {
		return transport.Offer{}, fmt.Errorf("file_url %q is not a usable URL: %w", f.FileURL, err)
	}
	if (req.URL.Scheme != "http" && req.URL.Scheme != "https") || req.URL.Host == "" {
		return transport.Offer{}, fmt.Errorf("file_url %q is not an http(s) URL", f.FileURL)
	}
	o := transport.Offer{
		Component:   comp,
		Version:     v,
		URL:         f.FileURL,
		MD5:         strings.ToLower(sum),
		UpgradeType: transport.Default,
		Notes:       strings.TrimSpace(f.Customize),
		Extra:       map[string]string{"ota_type": strconv.FormatInt(f.OTAType, 10)},
	}
	if f.Customize != "" {
		// The operator's own field: kept verbatim for status and post
		// install scripts; the agent acts on none of it (see doc.go).
		o.Extra["customize"] = f.Customize
	}
	return o, nil
}
