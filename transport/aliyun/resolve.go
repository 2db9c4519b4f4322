package aliyun

import (
	"context"
	"fmt"
	"strings"

	"ota-agent/transport"
)

// ResolveURL implements transport.URLResolver: it asks QueryOTAFirmware for
// the package's presigned FirmwareUrl (an OSS URL with Expires and Signature
// in its query, to be used verbatim). The agent calls it right before each
// download attempt and again after a 403 once the URL has expired. It
// refuses a package whose version, size or digest changed since Check, and
// multi-file packages.
func (c *Client) ResolveURL(ctx context.Context, o transport.Offer) (string, error) {
	const op = "resolve url (QueryOTAFirmware)"
	if err := c.validate(op); err != nil {
		return "", err
	}
	if o.ID == "" {
		return "", &transport.Error{API: api, Op: op, Msg: "offer has no FirmwareId"}
	}
	var a queryAnswer
	if err := c.call(ctx, op, "QueryOTAFirmware", map[string]string{"FirmwareId": o.ID}, &a); err != nil {
		return "", err
	}
	u, err := queryURL(a.FirmwareInfo, o)
	if err != nil {
		return "", &transport.Error{API: api, Op: op, Msg: fmt.Sprintf("firmware %s: %v", o.ID, err)}
	}
	c.log.Info("resolved", "id", o.ID, "version", o.Version)
	return u, nil
}

// queryURL checks the Query answer against the offer and returns its URL.
func queryURL(fw *Firmware, o transport.Offer) (string, error) {
	if fw == nil {
		return "", fmt.Errorf("answer has no FirmwareInfo")
	}
	if v := strings.TrimSpace(string(fw.DestVersion)); v != "" && v != o.Version {
		return "", fmt.Errorf("version is now %q, offered %q; check again", v, o.Version)
	}
	u := strings.TrimSpace(fw.FirmwareURL)
	if u == "" {
		if n := len(fw.MultiFiles); n != 1 {
			return "", fmt.Errorf("no FirmwareUrl and %d MultiFiles; only single-file packages are supported", n)
		}
		return strings.TrimSpace(fw.MultiFiles[0].URL), nil
	}
	if fw.FirmwareSize != 0 && o.Size != 0 && int64(fw.FirmwareSize) != o.Size {
		return "", fmt.Errorf("size is now %d, offered %d; check again", fw.FirmwareSize, o.Size)
	}
	if fw.FirmwareSign != "" {
		md5, sha, err := digest(fw.SignMethod, fw.FirmwareSign)
		if err != nil {
			return "", err
		}
		if md5 != o.MD5 || sha != o.SHA256 {
			return "", fmt.Errorf("digest is now %s%s, offered %s%s; check again", md5, sha, o.MD5, o.SHA256)
		}
	}
	return u, nil
}

// Report implements transport.API. The IoT API takes no reports over HTTP
// (devices report OTA progress over MQTT), so it does nothing.
func (c *Client) Report(ctx context.Context, r transport.Report) error { return nil }
