package agent_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"ota-agent/agent"
	"ota-agent/agent/config"
	"ota-agent/agent/policy"
	"ota-agent/agent/state"
	"ota-agent/transport/aliyun/aliyuntest"
)

const aliyunConfig = `
[device]
id = "cam-1"
model = "TestCam"
state_dir = "@DIR@/state"

[server]
api = "aliyun"
insecure_http = true

[server.aliyun]
endpoint = "@URL@"
region = "cn-shanghai"
access_key_id = "testid"
access_key_secret_file = "@DIR@/secret"
product_key = "pk"
modules = { default = "settings" }

[[component]]
name = "settings"
type = "file"
version = "1.9.0"
path = "@DIR@/remote.json"
`

// aliyunAgent is an agent wired by NewAPI to a fake Alibaba Cloud IoT server.
func aliyunAgent(t *testing.T) (*agent.Agent, *aliyuntest.Server, *state.Store) {
	t.Helper()
	dir := t.TempDir()
	srv := aliyuntest.NewServer(aliyuntest.Config{})
	t.Cleanup(srv.Close)
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte(aliyuntest.DefaultAccessKeySecret), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "agent.toml")
	text := strings.NewReplacer("@DIR@", dir, "@URL@", srv.URL).Replace(aliyunConfig)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	store, err := state.Open(cfg.Device.StateDir, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Lock(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Unlock() })
	hc, err := agent.NewHTTPClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	api, err := agent.NewAPI(cfg, hc, log)
	if err != nil {
		t.Fatal(err)
	}
	targets, err := agent.NewTargets(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ag, err := agent.New(agent.Options{Config: cfg, Store: store, API: api, Targets: targets, HTTP: hc, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return ag, srv, store
}

// TestRefusedShownAsDecisions: packages the API client turns down before
// policy are decisions with their reason in check and in state (status),
// never "no offers", and never installed (issue 16 item 10). The newest is
// chosen by version, not upload time (item 9, through NewAPI's Compare).
func TestRefusedShownAsDecisions(t *testing.T) {
	ag, srv, store := aliyunAgent(t)
	add := func(fw aliyuntest.Firmware) {
		fw.ProductKey = "pk"
		if fw.Data == nil && fw.Files == nil {
			fw.Data = []byte(fw.ID)
		}
		srv.AddFirmware(fw)
	}
	add(aliyuntest.Firmware{ID: "v2.10", DestVersion: "2.10.0", Status: 1, UtcCreate: "2024-01-01T00:00:00.000Z"})
	add(aliyuntest.Firmware{ID: "v2.9-later", DestVersion: "2.9.0", Status: 1, UtcCreate: "2024-05-01T00:00:00.000Z"})
	add(aliyuntest.Firmware{ID: "unverified", DestVersion: "3.0.0", Status: 0})
	add(aliyuntest.Firmware{ID: "wifi", ModuleName: "wifi", DestVersion: "3.0.0", Status: 1})
	add(aliyuntest.Firmware{ID: "delta", Type: 1, SrcVersion: "1.0.0", DestVersion: "3.1.0", Status: 1})
	add(aliyuntest.Firmware{ID: "sm3", DestVersion: "3.2.0", Status: 1, SignMethod: "SM3", Sign: "ab"})
	add(aliyuntest.Firmware{ID: "multi", DestVersion: "3.3.0", Status: 1, Files: []aliyuntest.File{{Name: "a", Data: []byte("a")}, {Name: "b", Data: []byte("b")}}})
	res, err := ag.Check(t.Context(), agent.CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []policy.Decision{
		{Component: "settings", Version: "2.10.0", Action: policy.Install, Reason: "silent: install now"},
		{Component: "settings", Version: "3.0.0", Action: policy.Skip, Reason: "turned down by the API client: status 0 is not in accept_status"},
		{Component: "module:wifi", Version: "3.0.0", Action: policy.Skip, Reason: `turned down by the API client: module "wifi" is not in [server.aliyun] modules`},
		{Component: "settings", Version: "3.1.0", Action: policy.Skip, Reason: `turned down by the API client: delta from "1.0.0", have "1.9.0"`},
		{Component: "settings", Version: "3.2.0", Action: policy.Skip, Reason: `turned down by the API client: SignMethod "SM3" is not MD5 or SHA256`},
		{Component: "settings", Version: "3.3.0", Action: policy.Skip, Reason: "turned down by the API client: a multi-file package (MultiFiles, no single FirmwareSign); multi-file packages are not supported: upload one file per package and module"},
	}
	if diff := cmp.Diff(want, res.Decisions); diff != "" {
		t.Errorf("check decisions (-want +got):\n%s", diff)
	}
	if _, _, err := ag.Update(t.Context(), agent.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	st, err := store.Read()
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Components["settings"].Version; got != "2.10.0" {
		t.Errorf("installed %q, want 2.10.0 (the highest version, not the last uploaded)", got)
	}
	var stored []string
	for _, d := range st.Decisions {
		stored = append(stored, d.Version+" "+d.Action)
	}
	if diff := cmp.Diff([]string{"2.10.0 install", "3.0.0 skip", "3.0.0 skip", "3.1.0 skip", "3.2.0 skip", "3.3.0 skip"}, stored); diff != "" {
		t.Errorf("decisions in state (status) (-want +got):\n%s", diff)
	}
}
