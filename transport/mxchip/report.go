package mxchip

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"ota-agent/transport"
)

// versionReport is the PUT body (seed-apis §2.3).
type versionReport struct {
	DeviceID    string `json:"device_id"`
	WiFiVersion string `json:"wifi_version"`
	MCUVersion  string `json:"mcu_version"`
}

// Report implements transport.API. After a successful install it PUTs the
// device's MCU and Wi-Fi versions (from r.Versions, falling back to
// r.Version for r.Component) with device_id; every other report returns nil,
// as the API has no other endpoint.
func (c *Client) Report(ctx context.Context, r transport.Report) error {
	if r.Event != transport.EventInstall || !r.OK {
		return nil
	}
	const op = "report install"
	if strings.TrimSpace(c.cfg.DeviceID) == "" {
		return configError(op, "device.id must be set: the version report needs device_id")
	}
	vr := versionReport{DeviceID: strings.TrimSpace(c.cfg.DeviceID),
		WiFiVersion: reported(r, c.cfg.WiFiComponent, c.cfg.WiFiVersion), MCUVersion: reported(r, c.cfg.MCUComponent, c.cfg.MCUVersion)}
	body, err := json.Marshal(vr)
	if err != nil {
		return configError(op, err.Error())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.cfg.BaseURL+VersionPath, bytes.NewReader(body))
	if err != nil {
		return configError(op, "bad server.base_url "+strconv.Quote(c.cfg.BaseURL)+": "+err.Error())
	}
	req.Header.Set("Content-Type", "application/json")
	if _, _, err := c.do(req, op); err != nil {
		return err
	}
	c.log.Info("reported versions", "device", vr.DeviceID, "wifi_version", vr.WiFiVersion, "mcu_version", vr.MCUVersion)
	return nil
}

// reported is the version of component comp after r; for a module no
// component manages, the one Check sends (fixed, else UnmanagedVersion).
func reported(r transport.Report, comp, fixed string) string {
	if comp == "" {
		if fixed = strings.TrimSpace(fixed); fixed != "" {
			return fixed
		}
		return UnmanagedVersion
	}
	if v, ok := r.Versions[comp]; ok {
		return strings.TrimSpace(v)
	}
	if r.Component == comp {
		return strings.TrimSpace(r.Version)
	}
	return ""
}

// codeError is the final error for a meta.code other than 0.
func codeError(op string, req *http.Request, m Meta) error {
	msg := fmt.Sprintf("%s %s: %q", req.Method, req.URL.Redacted(), m.Message)
	switch m.Code {
	case 10000:
		msg += " (parameter error; check product_id and the versions sent)"
	}
	return &transport.Error{API: apiName, Op: strings.TrimSpace(op), Code: strconv.FormatInt(m.Code, 10), Msg: msg}
}

// explainStatus adds what the body says (meta or a Django REST framework
// "detail") and a hint to a bad-status error.
func explainStatus(err error, req *http.Request, body []byte) error {
	var e *transport.Error
	if !errors.As(err, &e) {
		return err
	}
	var drf struct {
		Detail string `json:"detail"`
	}
	if m, _, err := DecodeEnvelope(body); err == nil {
		e.Code = strconv.FormatInt(m.Code, 10)
		e.Msg = strconv.Quote(m.Message)
	} else if json.Unmarshal(body, &drf) == nil && drf.Detail != "" {
		e.Msg = strconv.Quote(drf.Detail)
	}
	e.Msg = req.Method + " " + req.URL.Redacted() + ": " + e.Msg
	switch e.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		e.Msg += "; check the token in server.mxchip.token_file"
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		e.Msg += "; check server.base_url"
	}
	return e
}
