package demo

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"ota-agent/transport/akaso/akasotest"
	"ota-agent/transport/aliyun/aliyuntest"
	"ota-agent/transport/mxchip/mxchiptest"
	"ota-agent/transport/upgradelink/upgradelinktest"
)

// APIs are the names `ota-sim demo --api` accepts.
var APIs = []string{"aliyun", "akaso", "mxchip", "upgradelink", "hawkbit"}

// Firmware is one release a fake server publishes.
type Firmware struct {
	Component   string
	Version     string
	Data        []byte
	MinVersion  string // akaso only: min_version_name
	UpgradeType string // upgradelink only: prompt, silent or forced ("" = silent)
	MD5         string // akaso and mxchip: the digest announced; "" = the MD5 of Data (set it to announce a wrong one)
}

// announced returns the MD5 the server announces for fw.
func (fw Firmware) announced() string {
	if fw.MD5 != "" {
		return fw.MD5
	}
	return md5Hex(fw.Data)
}

// Server is a running fake of one vendor OTA API, with firmware published
// on it. Its methods are safe for concurrent use.
type Server interface {
	// API is the [server] api value, e.g. "aliyun".
	API() string
	// Offers lists the components this API can offer; the rest of a device
	// is updated with `ota-agent install`.
	Offers() []string
	// TOML returns the [server] tables for the agent configured with
	// components; secrets are written as files (mode 0600) under dir.
	TOML(dir string, components []string) (string, error)
	// Publish makes the server offer fw, replacing what it offered for the
	// same components.
	Publish(fw ...Firmware) error
	// Host serves data at a URL of this server, for `ota-agent install URL`.
	Host(name string, data []byte) string
	// Received describes what the server recorded: requests and reports.
	Received() []string
	Close()
}

// Model is the device model the demo's board reports.
const Model = "DemoCam_Amba"

// NewServer starts the fake server of api on 127.0.0.1.
func NewServer(api string, log *slog.Logger) (Server, error) {
	switch api {
	case "akaso":
		return &akasoServer{s: akasotest.NewServer(akasotest.Options{Entries: []akasotest.Entry{}, Log: log})}, nil
	case "mxchip":
		return &mxchipServer{s: mxchiptest.NewServer(mxchiptest.Options{ProductID: "p1", Files: []mxchiptest.File{}, Log: log}), files: map[int]mxchiptest.File{}}, nil
	case "upgradelink":
		return &ulServer{s: upgradelinktest.NewServer(upgradelinktest.Config{Log: log})}, nil
	case "aliyun":
		return &aliyunServer{s: aliyuntest.NewServer(aliyuntest.Config{Log: log})}, nil
	case "hawkbit":
		return newHawkbitServer(), nil
	}
	return nil, fmt.Errorf("demo: api %q is not one of %s", api, strings.Join(APIs, ", "))
}

func md5Hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

func writeSecret(dir, name, value string) (string, error) {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(value+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("demo: secret %s: %w", p, err)
	}
	return p, nil
}

// akasoServer publishes one entry for the rootfs of Model.
type akasoServer struct {
	s   *akasotest.Server
	uid int
}

func (a *akasoServer) API() string      { return "akaso" }
func (a *akasoServer) Offers() []string { return []string{"rootfs"} }
func (a *akasoServer) Close()           { a.s.Close() }
func (a *akasoServer) Host(name string, data []byte) string {
	return a.s.AddFile(name, data)
}

func (a *akasoServer) TOML(string, []string) (string, error) {
	return fmt.Sprintf("[server]\napi = \"akaso\"\nbase_url = %q\n\n[server.akaso]\nlanguage = \"EN\"\ncomponent = \"rootfs\"\n", a.s.BaseURL), nil
}

func (a *akasoServer) Publish(fws ...Firmware) error {
	var es []akasotest.Entry
	for _, fw := range fws {
		if fw.Component != "rootfs" {
			return fmt.Errorf("demo: akaso offers only the rootfs, not %s", fw.Component)
		}
		a.uid++
		name := fmt.Sprintf("%s V%s.bin", time.Now().Format("20060102"), fw.Version)
		es = append(es, akasotest.Entry{UID: strconv.Itoa(100 + a.uid), MD5Check: strings.ToUpper(fw.announced()),
			ModifyDate: time.Now().Format("2006-01-02 15:04:05"), OTALog: "demo release " + fw.Version, Model: Model,
			Src: a.s.AddFile(name, fw.Data), VersionName: fw.Version + "\n", FileSize: fmt.Sprintf("%.1fMB", float64(len(fw.Data))/1e6),
			MinVersionName: fw.MinVersion})
	}
	a.s.SetEntries(es)
	return nil
}

func (a *akasoServer) Received() []string {
	var out []string
	for _, r := range a.s.Requests() {
		out = append(out, r.Method+" "+r.RequestURI+rangeOf(r.Header.Get("Range")))
	}
	return out
}

func rangeOf(r string) string {
	if r == "" {
		return ""
	}
	return " (Range: " + r + ")"
}

// mxchipServer offers the MCU (ota_type 0) and the Wi-Fi module (1).
type mxchipServer struct {
	s     *mxchiptest.Server
	mu    sync.Mutex
	files map[int]mxchiptest.File
}

func (m *mxchipServer) API() string      { return "mxchip" }
func (m *mxchipServer) Offers() []string { return []string{"mcu", "wifi"} }
func (m *mxchipServer) Close()           { m.s.Close() }
func (m *mxchipServer) Host(name string, data []byte) string {
	return m.s.AddFile(name, data)
}

func (m *mxchipServer) TOML(dir string, _ []string) (string, error) {
	tok, err := writeSecret(dir, "mxchip.token", m.s.Token())
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("[server]\napi = \"mxchip\"\nbase_url = %q\n\n[server.mxchip]\nproduct_id = \"p1\"\ntoken_file = %q\nmcu_component = \"mcu\"\nwifi_component = \"wifi\"\n", m.s.URL, tok), nil
}

func (m *mxchipServer) Publish(fws ...Firmware) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, fw := range fws {
		t := map[string]int{"mcu": 0, "wifi": 1}
		ot, ok := t[fw.Component]
		if !ok {
			return fmt.Errorf("demo: mxchip offers only mcu and wifi, not %s", fw.Component)
		}
		url := m.s.AddFile(fmt.Sprintf("%s-%s.bin", fw.Component, fw.Version), fw.Data)
		m.files[ot] = mxchiptest.File{FileURL: url, MD5: fw.announced(), Version: fw.Version, OTAType: ot}
	}
	var fs []mxchiptest.File
	for _, ot := range []int{0, 1} {
		if f, ok := m.files[ot]; ok {
			fs = append(fs, f)
		}
	}
	m.s.SetFiles(fs)
	return nil
}

func (m *mxchipServer) Received() []string {
	var out []string
	for _, r := range m.s.Requests() {
		out = append(out, r.Method+" "+r.RequestURI+rangeOf(r.Header.Get("Range")))
	}
	for _, v := range m.s.Reports() {
		out = append(out, fmt.Sprintf("version report: device_id=%s mcu_version=%s wifi_version=%s", v.DeviceID, v.MCUVersion, v.WiFiVersion))
	}
	return out
}

// ulServer offers the rootfs as an UpgradeLink "lnx" strategy (a Linux
// package; unlike "file" it carries urlFileMd5, so the image is verified);
// versions are versionCode integers.
type ulServer struct{ s *upgradelinktest.Server }

// ULKey is the file key the demo's UpgradeLink strategy is published under.
const ULKey = "LOYlLXNy7wV3ySuh0XgtSg"

func (u *ulServer) API() string      { return "upgradelink" }
func (u *ulServer) Offers() []string { return []string{"rootfs"} }
func (u *ulServer) Close()           { u.s.Close() }
func (u *ulServer) Host(name string, data []byte) string {
	return u.s.AddFile(name, data)
}

func (u *ulServer) TOML(dir string, _ []string) (string, error) {
	sec, err := writeSecret(dir, "upgradelink.secret", upgradelinktest.DefaultSecretKey)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("[server]\napi = \"upgradelink\"\nbase_url = %q\n\n[server.upgradelink]\naccess_key = %q\nsecret_key_file = %q\nkind = \"lnx\"\nkey = %q\narch = \"arm64\"\ncomponent = \"rootfs\"\n",
		u.s.URL, upgradelinktest.DefaultAccessKey, sec, ULKey), nil
}

func (u *ulServer) Publish(fws ...Firmware) error {
	for _, fw := range fws {
		if fw.Component != "rootfs" {
			return fmt.Errorf("demo: upgradelink offers only the rootfs, not %s", fw.Component)
		}
		code, err := strconv.ParseInt(fw.Version, 10, 64)
		if err != nil {
			return fmt.Errorf("demo: upgradelink versions are versionCode integers, not %q", fw.Version)
		}
		ut := map[string]int{"prompt": 1, "": 2, "silent": 2, "forced": 3}[fw.UpgradeType]
		if ut == 0 {
			return fmt.Errorf("demo: upgrade type %q, want prompt, silent or forced", fw.UpgradeType)
		}
		u.s.Publish("lnx", ULKey, code, ut, fw.Data)
	}
	return nil
}

func (u *ulServer) Received() []string {
	var out []string
	for _, r := range u.s.Requests() {
		out = append(out, fmt.Sprintf("%s %s → %d code %d", r.Method, r.Path, r.Status, r.Code))
	}
	for _, r := range u.s.Reports() {
		out = append(out, fmt.Sprintf("report %s: %v", r.EventType, r.EventData))
	}
	return out
}

// aliyunServer lists packages for modules default (rootfs), mcu, wifi,
// radio and settings.
type aliyunServer struct {
	s   *aliyuntest.Server
	mu  sync.Mutex
	seq int
}

// ProductKey is the Alibaba Cloud product the demo's packages belong to.
const ProductKey = "a19mzPZdemo"

var aliyunModules = map[string]string{"rootfs": "default", "mcu": "mcu", "wifi": "wifi", "radio": "radio", "settings": "settings"}

func (a *aliyunServer) API() string { return "aliyun" }
func (a *aliyunServer) Offers() []string {
	return []string{"rootfs", "mcu", "wifi", "radio", "settings"}
}
func (a *aliyunServer) Close() { a.s.Close() }
func (a *aliyunServer) Host(name string, data []byte) string {
	return "" // the gateway only serves presigned package URLs
}

func (a *aliyunServer) TOML(dir string, comps []string) (string, error) {
	var mods []string
	for _, c := range comps {
		if m, ok := aliyunModules[c]; ok {
			mods = append(mods, fmt.Sprintf("%s = %q", m, c))
		}
	}
	sec, err := writeSecret(dir, "aliyun.secret", aliyuntest.DefaultAccessKeySecret)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("[server]\napi = \"aliyun\"\nbase_url = %q\n\n[server.aliyun]\nendpoint = %q\nregion = \"cn-shanghai\"\naccess_key_id = %q\naccess_key_secret_file = %q\nproduct_key = %q\naccept_status = [1, -1]\nmodules = { %s }\n",
		a.s.URL, a.s.URL, aliyuntest.DefaultAccessKeyID, sec, ProductKey, strings.Join(mods, ", ")), nil
}

// Publish adds packages; the agent takes the newest per module, so a later
// one replaces an earlier one.
func (a *aliyunServer) Publish(fws ...Firmware) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, fw := range fws {
		mod, ok := aliyunModules[fw.Component]
		if !ok {
			return fmt.Errorf("demo: aliyun modules are default, mcu, wifi, radio and settings; no module for %s", fw.Component)
		}
		a.seq++
		created := time.Date(2026, 1, 1, 0, 0, a.seq, 0, time.UTC).Format("2006-01-02T15:04:05.000Z")
		a.s.AddFirmware(aliyuntest.Firmware{Name: fw.Component + "-" + fw.Version, ProductKey: ProductKey, ProductName: "democam",
			ModuleName: mod, DestVersion: fw.Version, Status: 1, Data: fw.Data, UtcCreate: created})
	}
	return nil
}

func (a *aliyunServer) Received() []string {
	var out []string
	for _, r := range a.s.Requests() {
		what := r.Action
		if what == "" {
			what = "GET " + strings.SplitN(r.Path, "?", 2)[0]
		}
		if r.Code != "" {
			what += " → " + r.Code
		}
		out = append(out, fmt.Sprintf("%s (%d)%s", what, r.Status, rangeOf(r.Header.Get("Range"))))
	}
	return out
}
