package aliyun

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"ota-agent/transport"
)

const (
	// PageSize is the most ListOTAFirmware returns per page (larger is an error).
	PageSize = 100
	// MaxPages bounds the listing: 20 pages of 100 packages. A product with
	// more gets an error asking to narrow it, rather than an endless walk.
	MaxPages = 20
)

// Check implements transport.API: it lists the product's packages page by
// page and returns at most one offer per configured module: the newest
// acceptable package (latest UtcCreate, then the later one in the list).
// A package is acceptable when its module maps to a component, its Status is
// in AcceptStatus, its DestVersion differs from the current version, it is
// a full package (Type 0) or a delta (Type 1) whose SrcVersion is the current
// version, and its SignMethod is MD5 or SHA256 with a well-formed digest.
// Packages turned down are logged with the reason.
func (c *Client) Check(ctx context.Context, dev transport.Device) ([]transport.Offer, error) {
	if err := c.validate("check"); err != nil {
		return nil, err
	}
	all, err := c.list(ctx)
	if err != nil {
		return nil, err
	}
	best := map[string]Firmware{}
	var order []string
	for _, fw := range all {
		comp, why := c.accepts(fw, dev)
		if why != "" {
			c.log.Info("package turned down", "id", string(fw.FirmwareID), "version", string(fw.DestVersion), "module", fw.ModuleName, "reason", why)
			continue
		}
		old, seen := best[comp]
		if !seen {
			order = append(order, comp)
		}
		if !seen || fw.UtcCreate >= old.UtcCreate {
			best[comp] = fw
		}
	}
	offers := make([]transport.Offer, 0, len(order))
	for _, comp := range order {
		offers = append(offers, offer(comp, best[comp]))
	}
	return offers, nil
}

// list fetches every page of ListOTAFirmware.
func (c *Client) list(ctx context.Context) ([]Firmware, error) {
	var all []Firmware
	for page := 1; ; page++ {
		if page > MaxPages {
			return nil, &transport.Error{API: api, Op: "check", Msg: fmt.Sprintf("ListOTAFirmware has more than %d pages of %d packages; set product_key, or delete old packages", MaxPages, PageSize)}
		}
		params := map[string]string{"CurrentPage": strconv.Itoa(page), "PageSize": strconv.Itoa(PageSize)}
		if c.cfg.ProductKey != "" {
			params["ProductKey"] = c.cfg.ProductKey
		}
		var a listAnswer
		op := fmt.Sprintf("check (ListOTAFirmware page %d)", page)
		if err := c.call(ctx, op, "ListOTAFirmware", params, &a); err != nil {
			return nil, err
		}
		for i, fw := range a.FirmwareInfo {
			if fw.FirmwareID == "" || strings.TrimSpace(string(fw.DestVersion)) == "" {
				return nil, &transport.Error{API: api, Op: op, Msg: fmt.Sprintf("entry %d has no FirmwareId or DestVersion", i+1)}
			}
		}
		all = append(all, a.FirmwareInfo...)
		if len(a.FirmwareInfo) == 0 || int(a.PageCount) <= page || (a.Total > 0 && len(all) >= int(a.Total)) {
			return all, nil
		}
	}
}

// accepts returns the component fw is for, or why it is turned down.
func (c *Client) accepts(fw Firmware, dev transport.Device) (component, why string) {
	module := strings.TrimSpace(fw.ModuleName)
	if module == "" {
		module = "default"
	}
	comp, ok := c.cfg.Modules[module]
	if !ok {
		return "", fmt.Sprintf("module %q is not in [server.aliyun] modules", module)
	}
	cur := strings.TrimSpace(dev.Versions[comp])
	dest := strings.TrimSpace(string(fw.DestVersion))
	switch {
	case !c.accept[int(fw.Status)]:
		return "", fmt.Sprintf("status %d is not in accept_status", fw.Status)
	case dest == cur:
		return "", "already at " + dest
	case fw.Type == 1 && strings.TrimSpace(string(fw.SrcVersion)) != cur:
		return "", fmt.Sprintf("delta from %q, have %q", strings.TrimSpace(string(fw.SrcVersion)), cur)
	case fw.Type != 0 && fw.Type != 1:
		return "", fmt.Sprintf("unknown package type %d", fw.Type)
	}
	if _, _, err := digest(fw.SignMethod, fw.FirmwareSign); err != nil {
		return "", err.Error()
	}
	return comp, ""
}

// digest returns the MD5 or SHA-256 of the package, lower case.
func digest(method, sign string) (md5, sha256 string, err error) {
	sign = strings.ToLower(strings.TrimSpace(sign))
	switch m := strings.ToUpper(strings.TrimSpace(method)); m {
	case "MD5", "":
		if !isHex(sign, 32) {
			return "", "", fmt.Errorf("FirmwareSign %q is not a 32-hex-digit MD5", sign)
		}
		return sign, "", nil
	case "SHA256":
		if !isHex(sign, 64) {
			return "", "", fmt.Errorf("FirmwareSign %q is not a 64-hex-digit SHA-256", sign)
		}
		return "", sign, nil
	default:
		return "", "", fmt.Errorf("SignMethod %q is not MD5 or SHA256", method)
	}
}

// offer turns an accepted package into an offer. The URL is left empty: it
// is presigned and expires, so the agent gets it from ResolveURL right
// before downloading.
func offer(comp string, fw Firmware) transport.Offer {
	md5, sha, _ := digest(fw.SignMethod, fw.FirmwareSign)
	o := transport.Offer{
		Component: comp,
		Version:   strings.TrimSpace(string(fw.DestVersion)),
		Size:      int64(fw.FirmwareSize),
		MD5:       md5,
		SHA256:    sha,
		Notes:     strings.TrimSpace(fw.FirmwareDesc),
		ID:        string(fw.FirmwareID),
		Extra:     map[string]string{"module": fw.ModuleName, "name": fw.FirmwareName},
	}
	if fw.Type == 1 {
		o.SrcVersion = strings.TrimSpace(string(fw.SrcVersion))
	}
	return o
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
