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
// acceptable package by version (Config.Compare), upload time (UtcCreate)
// breaking ties and deciding only between versions that cannot be ordered,
// then the later one in the list.
// A package is acceptable when its module maps to a component, its Status is
// in AcceptStatus, its DestVersion differs from the current version, it is
// a full package (Type 0) or a delta (Type 1) whose SrcVersion is the current
// version, it is a single file, and its SignMethod is MD5 or SHA256 with a
// well-formed digest. A package turned down for any other reason than
// being the current version comes back as an offer with Refused set, so
// `check` and `status` show it with the reason.
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
	var refused []transport.Offer
	for _, fw := range all {
		comp, why := c.accepts(fw, dev)
		if why != "" {
			c.log.Info("package turned down", "id", string(fw.FirmwareID), "version", string(fw.DestVersion), "module", fw.ModuleName, "reason", why)
			if why != current {
				refused = append(refused, refusedOffer(comp, fw, why))
			}
			continue
		}
		old, seen := best[comp]
		if !seen {
			order = append(order, comp)
		}
		if !seen || c.newer(fw, old) {
			best[comp] = fw
		}
	}
	offers := make([]transport.Offer, 0, len(order)+len(refused))
	for _, comp := range order {
		offers = append(offers, offer(comp, best[comp]))
	}
	return append(offers, refused...), nil
}

// newer reports whether fw should replace old as the module's offer: a
// higher version under Config.Compare; for equal or unorderable versions
// (or no Compare), a later or equal upload time.
func (c *Client) newer(fw, old Firmware) bool {
	if c.cfg.Compare != nil {
		n, err := c.cfg.Compare(strings.TrimSpace(string(fw.DestVersion)), strings.TrimSpace(string(old.DestVersion)))
		if err == nil && n != 0 {
			return n > 0
		}
	}
	return fw.UtcCreate >= old.UtcCreate
}

// current is accepts' reason for a package of the version the device runs:
// not an offer at all, so not shown.
const current = "already at this version"

// refusedOffer is the offer shown for a package turned down before policy.
// A package of a module no component maps is named "module:<name>" so that
// check and status show what was turned down.
func refusedOffer(comp string, fw Firmware, why string) transport.Offer {
	if comp == "" {
		m := strings.TrimSpace(fw.ModuleName)
		if m == "" {
			m = "default"
		}
		comp = "module:" + m
	}
	return transport.Offer{
		Component: comp,
		Version:   strings.TrimSpace(string(fw.DestVersion)),
		Size:      int64(fw.FirmwareSize),
		ID:        string(fw.FirmwareID),
		Extra:     map[string]string{"module": fw.ModuleName, "name": fw.FirmwareName},
		Refused:   why,
	}
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

// accepts returns the component fw is for and, when it is turned down,
// why (current when it is the version the device runs).
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
		return comp, fmt.Sprintf("status %d is not in accept_status", fw.Status)
	case dest == cur:
		return comp, current
	case fw.Type == 1 && strings.TrimSpace(string(fw.SrcVersion)) != cur:
		return comp, fmt.Sprintf("delta from %q, have %q", strings.TrimSpace(string(fw.SrcVersion)), cur)
	case fw.Type != 0 && fw.Type != 1:
		return comp, fmt.Sprintf("unknown package type %d", fw.Type)
	case multiFile(fw):
		return comp, "a multi-file package (MultiFiles, no single FirmwareSign); multi-file packages are not supported: upload one file per package and module"
	}
	if _, _, err := digest(fw.SignMethod, fw.FirmwareSign); err != nil {
		return comp, err.Error()
	}
	return comp, ""
}

// multiFile reports whether fw is a multi-file package: ListOTAFirmware
// gives FirmwareSign and FirmwareSize only for single-file packages.
func multiFile(fw Firmware) bool {
	return len(fw.MultiFiles) > 0 || (strings.TrimSpace(fw.FirmwareSign) == "" && fw.FirmwareSize == 0)
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
