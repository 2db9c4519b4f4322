package agent

import (
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"

	"ota-agent/agent/config"
	"ota-agent/agent/policy"
	"ota-agent/flasher"
	"ota-agent/flasher/ab"
	"ota-agent/flasher/esprom"
	"ota-agent/flasher/file"
	"ota-agent/flasher/stm32"
	"ota-agent/flasher/ymodem"
	"ota-agent/transport"
	"ota-agent/transport/akaso"
	"ota-agent/transport/aliyun"
	"ota-agent/transport/download"
	"ota-agent/transport/hawkbit"
	"ota-agent/transport/mxchip"
	"ota-agent/transport/upgradelink"
)

// Targets are the component targets, by component name.
type Targets struct {
	Images map[string]flasher.Target   // file and serial components
	AB     map[string]flasher.ABTarget // ab components
}

// NewHTTPClient returns the client for API calls and downloads, from
// [server] (TLS roots, client certificate, insecure_http, timeout).
func NewHTTPClient(cfg *config.Config) (*http.Client, error) {
	return download.NewHTTPClient(download.TLSConfig{
		InsecureHTTP: cfg.Server.InsecureHTTP,
		CAFile:       cfg.Server.CAFile,
		ClientCert:   cfg.Server.ClientCert,
		ClientKey:    cfg.Server.ClientKey,
		Timeout:      cfg.Server.Timeout.Duration,
	})
}

// NewAPI returns the client of the configured OTA API ([server] api).
func NewAPI(cfg *config.Config, hc *http.Client, log *slog.Logger) (transport.API, error) {
	s := cfg.Server
	switch s.API {
	case "akaso":
		return akaso.New(akaso.Config{BaseURL: s.BaseURL, Language: s.Akaso.Language, Model: cfg.Device.Model, Component: s.Akaso.Component, Client: hc, Log: log}), nil
	case "upgradelink":
		u := s.UpgradeLink
		return upgradelink.New(upgradelink.Config{BaseURL: s.BaseURL, AccessKey: u.AccessKey, SecretKey: u.SecretKey, Kind: u.Kind, Key: u.Key, Arch: u.Arch,
			Component: u.Component, DevModelKey: cfg.Device.Model, DevKey: cfg.Device.ID, AppointVersionCode: u.AppointVersionCode,
			Client: hc, Log: log}), nil
	case "mxchip":
		m := s.MXChip
		return mxchip.New(mxchip.Config{BaseURL: s.BaseURL, ProductID: m.ProductID, Token: m.Token, DeviceID: cfg.Device.ID,
			MCUComponent: m.MCUComponent, WiFiComponent: m.WiFiComponent, WiFiVersion: m.WiFiVersion, MCUVersion: m.MCUVersion, Client: hc, Log: log}), nil
	case "aliyun":
		y := s.Aliyun
		ep := y.Endpoint
		if ep == "" {
			ep = s.BaseURL
		}
		return aliyun.New(aliyun.Config{Endpoint: ep, Region: y.Region, AccessKeyID: y.AccessKeyID, AccessKeySecret: y.AccessKeySecret,
			ProductKey: y.ProductKey, AcceptStatus: y.AcceptStatus, Modules: y.Modules, IotInstanceID: y.IotInstanceID,
			Compare: compareUnder(cfg.Policy.VersionScheme), Client: hc, Log: log}), nil
	case "hawkbit":
		return newHawkbit(cfg, hc, log)
	}
	return nil, fmt.Errorf("server.api %q is not supported (want akaso, mxchip, upgradelink, aliyun or hawkbit)", s.API)
}

// newHawkbit builds the hawkBit DDI client. Its artifact downloads need
// the token too, so hc (shared with the download engine) gets the
// client's Transport, which adds it for the base host only.
func newHawkbit(cfg *config.Config, hc *http.Client, log *slog.Logger) (transport.API, error) {
	h := cfg.Server.Hawkbit
	hcfg := hawkbit.Config{BaseURL: cfg.Server.BaseURL, Tenant: h.Tenant, ControllerID: h.ControllerID, Chunks: h.Chunks,
		Attributes: map[string]string{}, StateFile: filepath.Join(cfg.Device.StateDir, "hawkbit.json"),
		ArmsOnDownload: func(name string) bool { c := cfg.Component(name); return c != nil && c.Type == config.KindAB },
		Client:         hc, Log: log}
	if hcfg.ControllerID == "" {
		hcfg.ControllerID = cfg.Device.ID
	}
	if cfg.Device.Model != "" {
		hcfg.Attributes["model"] = cfg.Device.Model
	}
	if h.Gateway() {
		hcfg.GatewayToken = h.Token
	} else {
		hcfg.TargetToken = h.Token
	}
	c, err := hawkbit.New(hcfg)
	if err != nil {
		return nil, err
	}
	if hc != nil {
		hc.Transport = c.Transport(hc.Transport)
	}
	return c, nil
}

// compareUnder orders two versions under a policy.version_scheme.
func compareUnder(scheme string) func(a, b string) (int, error) {
	return func(a, b string) (int, error) { return policy.Compare(scheme, a, b) }
}

// NewTargets builds the target of every configured component. A component
// whose type this build cannot flash is an error naming it.
func NewTargets(cfg *config.Config, log *slog.Logger) (Targets, error) {
	t := Targets{Images: map[string]flasher.Target{}, AB: map[string]flasher.ABTarget{}}
	for i := range cfg.Components {
		c := &cfg.Components[i]
		switch c.Type {
		case config.KindAB:
			a := c.AB
			if a == nil {
				return t, fmt.Errorf("component %s: type ab needs a [component.ab] table", c.Name)
			}
			tg, err := ab.New(ab.Config{Slots: a.Slots, Bootloader: a.Bootloader, EnvConfig: a.EnvConfig, GrubEnv: a.GrubEnv,
				Scheme: a.Scheme, Attempts: a.Attempts, CmdlineFile: a.CmdlineFile, Log: log,
				GrubenvLayout: a.GrubLayout, Partitions: a.Partitions, LockFile: a.LockFile, SkipUnchanged: a.SkipUnchanged})
			if err != nil {
				return t, fmt.Errorf("component %s: %w", c.Name, err)
			}
			t.AB[c.Name] = tg
		case config.KindFile:
			tg, err := file.New(file.Config{Path: c.Path, Mode: c.FileMode(), PostInstall: c.PostInstall, Log: log})
			if err != nil {
				return t, fmt.Errorf("component %s: %w", c.Name, err)
			}
			t.Images[c.Name] = tg
		case config.KindSTM32:
			tg, err := stm32.NewTarget(stm32.TargetConfig{Port: c.Port, Baud: c.Baud, Enter: c.Enter, EnterCommand: c.EnterCommand,
				Address: uint32(c.Address), Verify: c.Verify, Name: c.Name, Log: log})
			if err != nil {
				return t, fmt.Errorf("component %s: %w", c.Name, err)
			}
			t.Images[c.Name] = tg
		case config.KindESP:
			tg, err := esprom.NewTarget(esprom.TargetConfig{Port: c.Port, Baud: c.Baud, Enter: c.Enter, EnterCommand: c.EnterCommand,
				Chip: c.Chip, Offset: uint32(c.Offset), Log: log})
			if err != nil {
				return t, fmt.Errorf("component %s: %w", c.Name, err)
			}
			t.Images[c.Name] = tg
		case config.KindYModem:
			tg, err := ymodem.NewTarget(ymodem.TargetConfig{Port: c.Port, Baud: c.Baud, Enter: c.Enter, EnterCommand: c.EnterCommand,
				CLI: c.CLI, Command: c.Command, Log: log})
			if err != nil {
				return t, fmt.Errorf("component %s: %w", c.Name, err)
			}
			t.Images[c.Name] = tg
		default:
			return t, fmt.Errorf("component %s: type %q is not supported by this build of ota-agent (supported: ab, file, stm32, ymodem, esp)", c.Name, c.Type)
		}
	}
	return t, nil
}
