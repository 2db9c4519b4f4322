package config

import (
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// checkAPI checks the section of the configured API: its required keys and
// the components it names. The sections of other APIs are not used and not
// checked beyond their key names.
func (l *loader) checkAPI(c *Config) *Error {
	switch c.Server.API {
	case "akaso":
		return l.checkRef(c, "server.akaso.component", c.Server.Akaso.Component, true)
	case "mxchip":
		return l.checkMXChip(c)
	case "upgradelink":
		return l.checkUpgradeLink(c)
	case "aliyun":
		return l.checkAliyun(c)
	case "hawkbit":
		return l.checkHawkbit(c)
	}
	return nil
}

// checkRef checks that a component named by a [server.*] key exists.
func (l *loader) checkRef(c *Config, key, name string, required bool) *Error {
	if name == "" {
		if required {
			return l.at(key, "is required (the name of the [[component]] this API updates)")
		}
		return nil
	}
	if c.Component(name) == nil {
		return l.at(key, "no [[component]] is named %q (have %s)", name, strings.Join(componentNames(c), ", "))
	}
	return nil
}

func componentNames(c *Config) []string {
	var names []string
	for _, comp := range c.Components {
		names = append(names, strconv.Quote(comp.Name))
	}
	return names
}

// required returns an error for the first of keys whose value is empty.
func (l *loader) required(pairs ...string) *Error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.TrimSpace(pairs[i+1]) == "" {
			return l.at(pairs[i], "is required for this api")
		}
	}
	return nil
}

func (l *loader) checkMXChip(c *Config) *Error {
	m := c.Server.MXChip
	if err := l.required("server.mxchip.product_id", m.ProductID, "server.mxchip.token_file", m.TokenFile); err != nil {
		return err
	}
	if m.MCUComponent == "" && m.WiFiComponent == "" {
		return l.at("server.mxchip.mcu_component", "set mcu_component, wifi_component or both")
	}
	if err := l.checkRef(c, "server.mxchip.mcu_component", m.MCUComponent, false); err != nil {
		return err
	}
	if err := l.checkRef(c, "server.mxchip.wifi_component", m.WiFiComponent, false); err != nil {
		return err
	}
	return l.checkUnmanaged(m)
}

// checkUnmanaged checks the versions sent for modules no component manages:
// short printable text, and only for a module without a component.
func (l *loader) checkUnmanaged(m MXChip) *Error {
	for _, f := range []struct{ key, v, comp string }{
		{"server.mxchip.wifi_version", m.WiFiVersion, m.WiFiComponent},
		{"server.mxchip.mcu_version", m.MCUVersion, m.MCUComponent},
	} {
		switch {
		case f.v == "":
		case f.comp != "":
			return l.at(f.key, "is only for a module no component manages; the component's own version is sent")
		case !plainText(f.v, 128):
			return l.at(f.key, "%q must be 1 to 128 printable characters without spaces at either end", f.v)
		}
	}
	return nil
}

// plainText reports whether s is at most n printable characters with no
// leading or trailing white space.
func plainText(s string, n int) bool {
	if len(s) > n || strings.TrimSpace(s) != s {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func (l *loader) checkUpgradeLink(c *Config) *Error {
	u := c.Server.UpgradeLink
	if err := l.required("server.upgradelink.access_key", u.AccessKey, "server.upgradelink.secret_key_file",
		u.SecretKeyFile, "server.upgradelink.kind", u.Kind, "server.upgradelink.key", u.Key); err != nil {
		return err
	}
	if m := oneOf(u.Kind, kinds); m != "" {
		return l.at("server.upgradelink.kind", "%s", m)
	}
	if u.Kind == "lnx" || u.Arch != "" {
		if m := oneOf(u.Arch, arches); m != "" {
			return l.at("server.upgradelink.arch", "%s (kind lnx requires it)", m)
		}
	}
	if u.AppointVersionCode < 0 || u.AppointVersionCode > 1<<31-1 {
		return l.at("server.upgradelink.appoint_version_code", "%d is not a versionCode (use 0 for the latest, or a positive integer)", u.AppointVersionCode)
	}
	if err := l.checkRef(c, "server.upgradelink.component", u.Component, true); err != nil {
		return err
	}
	comp := c.Component(u.Component)
	if v, err := strconv.ParseUint(comp.Version, 10, 31); comp.Version != "" && (err != nil || v == 0) {
		i := slices.IndexFunc(c.Components, func(x Component) bool { return x.Name == u.Component })
		return l.compErr(i, comp, "version", "%q is not a positive integer (UpgradeLink sends it as versionCode)", comp.Version)
	}
	return nil
}

func (l *loader) checkAliyun(c *Config) *Error {
	a := c.Server.Aliyun
	if err := l.required("server.aliyun.region", a.Region, "server.aliyun.access_key_id", a.AccessKeyID,
		"server.aliyun.access_key_secret_file", a.AccessKeySecretFile, "server.aliyun.product_key", a.ProductKey); err != nil {
		return err
	}
	if m := checkURL(a.Endpoint, c.Server.InsecureHTTP); m != "" {
		return l.at("server.aliyun.endpoint", "%s", m)
	}
	if a.IotInstanceID != "" && !plainText(a.IotInstanceID, 128) {
		return l.at("server.aliyun.iot_instance_id", "%q must be printable, without spaces at either end (e.g. \"iot-cn-0pp1n8t****\")", a.IotInstanceID)
	}
	if len(a.AcceptStatus) == 0 {
		return l.at("server.aliyun.accept_status", "is empty (use e.g. [1, -1]: verified or needing no verification)")
	}
	for _, s := range a.AcceptStatus {
		if !slices.Contains(aliyunStatuses, s) {
			return l.at("server.aliyun.accept_status", "%d is not a firmware status (use -1, 0, 1, 2 or 3)", s)
		}
	}
	if len(a.Modules) == 0 {
		return l.at("server.aliyun.modules", "is empty (map ModuleName to a component, e.g. { default = \"rootfs\" })")
	}
	for _, mod := range sortedKeys(a.Modules) {
		if err := l.checkRef(c, "server.aliyun.modules."+mod, a.Modules[mod], true); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
