package main_test

// End-to-end suite: the real binary (built once in TestMain, main_test.go)
// against each API's fake server and simulated hardware from cmd/internal/demo:
// file-backed A/B slots with a U-Boot environment, a simulated STM32, MXChip
// Wi-Fi module (YMODEM behind the MXCHIP> menu) and ESP32 radio on ptys, and
// a file component.

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"ota-agent/agent"
	"ota-agent/agent/policy"
	"ota-agent/cmd/internal/demo"
	"ota-agent/transport"
)

// e2eRig is one simulated device, one fake server and an agent.toml.
type e2eRig struct {
	dev *demo.Device
	srv demo.Server
	cfg string
	dir string
}

// newE2E starts a device (serial lines unpaced) and the fake server of api,
// and writes the configuration with o.
func newE2E(t *testing.T, api string, o demo.ConfigOptions, do demo.DeviceOptions) *e2eRig {
	t.Helper()
	dir := t.TempDir()
	do.Log = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	dev, err := demo.StartDevice(ctx, dir, do)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := dev.Close(); err != nil {
			t.Logf("simulators ended with: %v", err)
		}
	})
	srv, err := demo.NewServer(api, do.Log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if o.StateDir == "" {
		o.StateDir = filepath.Join(dir, "state")
	}
	if o.ESPBaud == 0 {
		o.ESPBaud = 115200
	}
	r := &e2eRig{dev: dev, srv: srv, cfg: filepath.Join(dir, "agent.toml"), dir: dir}
	if err := demo.WriteConfig(r.cfg, dev, srv, o); err != nil {
		t.Fatal(err)
	}
	return r
}

// run runs the binary with the rig's configuration.
func (r *e2eRig) run(t *testing.T, args ...string) result {
	t.Helper()
	return runBin(t, append([]string{"-c", r.cfg, "--log-level", "warn"}, args...)...)
}

// must runs the binary and fails the test unless it exits 0.
func (r *e2eRig) must(t *testing.T, args ...string) string {
	t.Helper()
	res := r.run(t, args...)
	if res.code != 0 {
		t.Fatalf("ota-agent %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, res.code, res.stdout, res.stderr)
	}
	return res.stdout
}

func (r *e2eRig) publish(t *testing.T, fw ...demo.Firmware) {
	t.Helper()
	if err := r.srv.Publish(fw...); err != nil {
		t.Fatal(err)
	}
}

// check runs `check --json`.
func (r *e2eRig) check(t *testing.T) agent.CheckResult {
	t.Helper()
	var res agent.CheckResult
	if err := json.Unmarshal([]byte(r.must(t, "check", "--json")), &res); err != nil {
		t.Fatalf("check --json: %v", err)
	}
	return res
}

// status runs `status --json`, keyed by component.
func (r *e2eRig) status(t *testing.T) map[string]agent.ComponentStatus {
	t.Helper()
	var st agent.Status
	if err := json.Unmarshal([]byte(r.must(t, "status", "--json")), &st); err != nil {
		t.Fatalf("status --json: %v", err)
	}
	m := map[string]agent.ComponentStatus{}
	for _, c := range st.Components {
		m[c.Name] = c
	}
	return m
}

// offerView is what the tests compare of an offer.
type offerView struct {
	Component, Version, MD5, MinVersion string
	UpgradeType                         transport.UpgradeType
	Size                                int64
	Estimate                            bool
}

func offerViews(os []transport.Offer) []offerView {
	out := []offerView{}
	for _, o := range os {
		out = append(out, offerView{o.Component, o.Version, o.MD5, o.MinVersion, o.UpgradeType, o.Size, o.SizeIsEstimate})
	}
	return out
}

func dec(comp, ver string, a policy.Action, reason string) policy.Decision {
	return policy.Decision{Component: comp, Version: ver, Action: a, Reason: reason}
}

func fwOf(comp, ver string, data []byte) demo.Firmware {
	return demo.Firmware{Component: comp, Version: ver, Data: data}
}

func md5of(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// wantCheck compares offers and decisions of a check with go-cmp.
func wantCheck(t *testing.T, got agent.CheckResult, api string, offers []offerView, decisions []policy.Decision) {
	t.Helper()
	if got.API != api {
		t.Errorf("check --json api = %q, want %q", got.API, api)
	}
	if d := cmp.Diff(offers, offerViews(got.Offers)); d != "" {
		t.Errorf("offers (-want +got):\n%s", d)
	}
	if d := cmp.Diff(decisions, got.Decisions); d != "" {
		t.Errorf("decisions (-want +got):\n%s", d)
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type agentStatus = agent.ComponentStatus

func cmpDiff(want, got any) string { return cmp.Diff(want, got) }

// windowNotNow returns a one-hour policy.window that starts two hours
// from now (local time), so now is outside it.
func windowNotNow() string {
	s := time.Now().Add(2 * time.Hour)
	e := s.Add(time.Hour)
	return s.Format("15:04") + "-" + e.Format("15:04")
}
