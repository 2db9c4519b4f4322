package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Allowed values, in the order error messages list them.
var (
	apis           = []string{"akaso", "mxchip", "upgradelink", "aliyun", "hawkbit"}
	kinds          = []string{"configuration", "file", "url", "lnx"}
	arches         = []string{"x64", "arm64"}
	versionSchemes = []string{"auto", "semver", "date", "numeric", "opaque"}
	upgradeTypes   = []string{"prompt", "silent", "forced"}
	prompts        = []string{"hold", "apply", "skip"}
	unorderables   = []string{"skip", "hold"}
	aliyunStatuses = []int{-1, 0, 1, 2, 3}
)

// oneOf returns an error message when v is not in allowed.
func oneOf(v string, allowed []string) string {
	if slices.Contains(allowed, v) {
		return ""
	}
	return fmt.Sprintf("%q is not allowed (use one of %s)", v, strings.Join(allowed, ", "))
}

// validate checks every value; the first problem is returned.
func (l *loader) validate(c *Config) error {
	checks := []func(*Config) *Error{
		l.checkDevice, l.checkServer, l.checkPolicy, l.checkDownload, l.checkSecurity,
		l.checkComponents, l.checkAPI,
	}
	for _, check := range checks {
		if err := check(c); err != nil {
			return err
		}
	}
	return nil
}

func (l *loader) checkDevice(c *Config) *Error {
	d := c.Device
	switch {
	case !filepath.IsAbs(d.StateDir):
		return l.at("device.state_dir", "%q is not an absolute path (e.g. %q)", d.StateDir, DefaultStateDir)
	case d.ID == "" && (c.Server.API == "mxchip" || c.Server.API == "upgradelink"):
		return l.at("device.id", "is required for api %q (a unique id; a MAC address works)", c.Server.API)
	case d.Model == "" && (c.Server.API == "akaso" || c.Server.API == "upgradelink"):
		return l.at("device.model", "is required for api %q (the vendor's model key, e.g. \"Brave7_Amba\")", c.Server.API)
	}
	return nil
}

func (l *loader) checkServer(c *Config) *Error {
	s := c.Server
	if s.API == "" {
		return l.at("server.api", "is required (use one of %s)", strings.Join(apis, ", "))
	}
	if m := oneOf(s.API, apis); m != "" {
		return l.at("server.api", "%s", m)
	}
	if s.BaseURL != "" || s.API == "akaso" || s.API == "mxchip" {
		if m := checkURL(s.BaseURL, s.InsecureHTTP); m != "" {
			return l.at("server.base_url", "%s", m)
		}
	}
	switch {
	case s.PollInterval.Duration <= 0:
		return l.at("server.poll_interval", "must be more than 0s (e.g. \"6h\")")
	case s.Timeout.Duration <= 0:
		return l.at("server.timeout", "must be more than 0s, or a dead server hangs the agent (e.g. \"30s\")")
	case (s.ClientCert == "") != (s.ClientKey == ""):
		return l.at("server.client_cert", "client_cert and client_key must be set together")
	}
	for _, f := range []struct{ key, path string }{
		{"server.ca_file", s.CAFile}, {"server.client_cert", s.ClientCert}, {"server.client_key", s.ClientKey},
	} {
		if f.path == "" {
			continue
		}
		if _, err := l.statFile(f.key, f.path); err != nil {
			return err
		}
	}
	return l.checkTLSFiles(s)
}

// checkTLSFiles parses the TLS files as the HTTP client will, so that
// config check refuses what every other command would.
func (l *loader) checkTLSFiles(s Server) *Error {
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err == nil && !x509.NewCertPool().AppendCertsFromPEM(pem) {
			return l.at("server.ca_file", "%s holds no PEM certificate; it must hold one or more \"BEGIN CERTIFICATE\" blocks", s.CAFile)
		}
	}
	if s.ClientCert != "" {
		if _, err := tls.LoadX509KeyPair(s.ClientCert, s.ClientKey); err != nil {
			return l.at("server.client_cert", "%s / %s: %v", s.ClientCert, s.ClientKey, err)
		}
	}
	return nil
}

// checkURL returns an error message when u is not a usable http(s) URL.
func checkURL(u string, insecure bool) string {
	if u == "" {
		return "is required (e.g. \"https://ota.example.com/akaso\")"
	}
	p, err := url.Parse(u)
	if err != nil || p.Host == "" || (p.Scheme != "http" && p.Scheme != "https") {
		return fmt.Sprintf("%q is not an http(s) URL (e.g. \"https://ota.example.com/akaso\")", u)
	}
	if p.Scheme == "http" && !insecure {
		return fmt.Sprintf("%q is plain http; use https or set server.insecure_http = true", u)
	}
	return ""
}

func (l *loader) checkPolicy(c *Config) *Error {
	p := c.Policy
	for _, f := range []struct {
		key, v  string
		allowed []string
	}{
		{"policy.version_scheme", p.VersionScheme, versionSchemes},
		{"policy.default_upgrade_type", p.DefaultUpgradeType, upgradeTypes},
		{"policy.prompt", p.Prompt, prompts},
		{"policy.unorderable", p.Unorderable, unorderables},
	} {
		if m := oneOf(f.v, f.allowed); m != "" {
			return l.at(f.key, "%s", m)
		}
	}
	if p.MaxAttempts < 1 {
		return l.at("policy.max_attempts", "%d is not allowed (use 1 or more)", p.MaxAttempts)
	}
	return nil
}

func (l *loader) checkDownload(c *Config) *Error {
	d := c.Download
	switch {
	case d.StallTimeout.Duration <= 0:
		return l.at("download.stall_timeout", "must be more than 0s, or a stalled download hangs (e.g. \"60s\")")
	case d.MaxRetries < 0:
		return l.at("download.max_retries", "%d is not allowed (use 0 or more)", d.MaxRetries)
	case !(d.Budget >= 1) || d.Budget > 1e6:
		return l.at("download.budget", "%v is not allowed (use 1.0 or more: the bytes one version may fetch, as a multiple of its size)", d.Budget)
	case d.MinRate > 0 && d.MinRateWindow.Duration < time.Second:
		return l.at("download.min_rate_window", "%s is too short (use 1s or more, e.g. \"60s\")", d.MinRateWindow.Duration)
	case d.MaxSize < 1<<20:
		return l.at("download.max_size", "%s is too small (use 1MiB or more, e.g. \"4GiB\")", d.MaxSize)
	}
	return nil
}
