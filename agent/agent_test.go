package agent_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
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
	"ota-agent/transport/akaso/akasotest"
)

// rig is an agent with a file component fed by a fake AKASO server.
type rig struct {
	t      testing.TB
	dir    string
	srv    *akasotest.Server
	cfg    *config.Config
	store  *state.Store
	ag     *agent.Agent
	target string // the file component's path
}

const fileConfig = `
[device]
id = "cam-1"
model = "TestCam"
state_dir = "@DIR@/state"

[server]
api = "akaso"
base_url = "@URL@"
insecure_http = true
poll_interval = "1h"
poll_jitter = "10m"

[server.akaso]
component = "settings"

[policy]
max_attempts = 2

[download]
stall_timeout = "5s"
max_retries = 1

[[component]]
name = "settings"
type = "file"
version = "1.0.0"
path = "@DIR@/etc/remote.json"
@EXTRA@
`

func newRig(t testing.TB, extra string) *rig {
	t.Helper()
	r := &rig{t: t, dir: t.TempDir()}
	r.srv = akasotest.NewServer(akasotest.Options{Entries: []akasotest.Entry{}})
	t.Cleanup(r.srv.Close)
	if err := os.MkdirAll(filepath.Join(r.dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.target = filepath.Join(r.dir, "etc", "remote.json")
	text := strings.NewReplacer("@DIR@", r.dir, "@URL@", r.srv.BaseURL, "@EXTRA@", extra).Replace(fileConfig)
	path := filepath.Join(r.dir, "agent.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	r.cfg = cfg
	r.open()
	return r
}

// open (re)builds the agent from the state directory, as a restart does.
func (r *rig) open() {
	t := r.t
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	if r.store != nil {
		r.store.Unlock()
	}
	store, err := state.Open(r.cfg.Device.StateDir, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Lock(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Unlock() })
	hc, err := agent.NewHTTPClient(r.cfg)
	if err != nil {
		t.Fatal(err)
	}
	api, err := agent.NewAPI(r.cfg, hc, log)
	if err != nil {
		t.Fatal(err)
	}
	targets, err := agent.NewTargets(r.cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	r.store = store
	r.ag, err = agent.New(agent.Options{Config: r.cfg, Store: store, API: api, Targets: targets, HTTP: hc, Log: log})
	if err != nil {
		t.Fatal(err)
	}
}

// offer publishes version with content data (md5 as given, or the right one).
func (r *rig) offer(version string, data []byte, md5hex string) {
	if md5hex == "" {
		sum := md5.Sum(data)
		md5hex = strings.ToUpper(hex.EncodeToString(sum[:]))
	}
	u := r.srv.AddFile(version+".json", data)
	r.srv.SetEntries([]akasotest.Entry{{UID: "101", Model: "TestCam", VersionName: version + "\n", Src: u, MD5Check: md5hex, FileSize: "1KB"}})
}

func (r *rig) state() *state.State {
	st, err := r.store.Read()
	if err != nil {
		r.t.Fatal(err)
	}
	return st
}

func TestUpdateFileComponent(t *testing.T) {
	r := newRig(t, "")
	data := []byte(`{"led": "blue"}`)
	r.offer("1.1.0", data, "")
	ctx := t.Context()

	res, outs, err := r.ag.Update(ctx, agent.UpdateOptions{})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	want := []policy.Decision{{Component: "settings", Version: "1.1.0", Action: policy.Install, Reason: "silent: install now"}}
	if diff := cmp.Diff(want, res.Decisions); diff != "" {
		t.Errorf("decisions (-want +got):\n%s", diff)
	}
	if len(outs) != 1 || outs[0].Err != nil || outs[0].Phase != "idle" {
		t.Fatalf("outcomes = %+v, want one idle success", outs)
	}
	if got, _ := os.ReadFile(r.target); string(got) != string(data) {
		t.Errorf("target file = %q, want %q", got, data)
	}
	c := r.state().Components["settings"]
	if c.Version != "1.1.0" || c.Phase != state.Idle || c.LastError != "" || len(c.Attempts) != 0 {
		t.Errorf("state after install = %+v", c)
	}
	if ents, _ := os.ReadDir(filepath.Join(r.cfg.Device.StateDir, "download")); len(ents) != 0 {
		t.Errorf("download directory not cleaned: %v", ents)
	}

	// The same offer again: nothing to do.
	res, outs, err = r.ag.Update(ctx, agent.UpdateOptions{})
	if err != nil || len(outs) != 0 || res.Decisions[0].Action != policy.Skip {
		t.Errorf("second Update = %+v, %+v, %v; want a skip", res.Decisions, outs, err)
	}
}

func TestUpdateDigestMismatchFailsAtOnce(t *testing.T) {
	r := newRig(t, "")
	r.offer("1.1.0", []byte("content"), strings.Repeat("AB", 16))
	_, outs, err := r.ag.Update(t.Context(), agent.UpdateOptions{})
	if err == nil || len(outs) != 1 {
		t.Fatalf("Update = %+v, %v; want a failure", outs, err)
	}
	c := r.state().Components["settings"]
	if diff := cmp.Diff([]string{"1.1.0"}, c.FailedList()); diff != "" {
		t.Errorf("failed list (-want +got):\n%s", diff)
	}
	if c.Phase != state.Failed || !strings.Contains(c.LastError, "md5") {
		t.Errorf("phase %s, last error %q; want failed naming md5", c.Phase, c.LastError)
	}
	if _, err := os.Stat(r.target); !os.IsNotExist(err) {
		t.Errorf("target written despite digest mismatch: %v", err)
	}
	// Policy now skips it; --force tries again.
	res, _, _ := r.ag.Update(t.Context(), agent.UpdateOptions{})
	if res.Decisions[0].Action != policy.Skip {
		t.Errorf("after failure decision = %+v, want skip", res.Decisions[0])
	}
	res, _, _ = r.ag.Update(t.Context(), agent.UpdateOptions{CheckOptions: agent.CheckOptions{Force: true}})
	if res.Decisions[0].Action != policy.Install {
		t.Errorf("with force decision = %+v, want install", res.Decisions[0])
	}
}

func TestLoopBreakerAfterMaxAttempts(t *testing.T) {
	r := newRig(t, `post_install = ["false"]`)
	r.offer("1.1.0", []byte("x"), "")
	for attempt := 1; attempt <= 2; attempt++ {
		_, _, err := r.ag.Update(t.Context(), agent.UpdateOptions{})
		if err == nil {
			t.Fatalf("attempt %d succeeded; post_install false must fail it", attempt)
		}
		c := r.state().Components["settings"]
		if got := c.Attempts["1.1.0"]; got != attempt {
			t.Errorf("attempt %d: count %d", attempt, got)
		}
		if failed := c.IsFailed("1.1.0"); failed != (attempt == 2) {
			t.Errorf("attempt %d: on failed list = %v", attempt, failed)
		}
	}
	r.open() // the count survives a restart
	if c := r.state().Components["settings"]; c.Attempts["1.1.0"] != 2 || !c.IsFailed("1.1.0") {
		t.Errorf("after restart: %+v", c)
	}
}

func TestResumeInterruptedDownload(t *testing.T) {
	r := newRig(t, "")
	st := r.state()
	c := st.Component("settings")
	c.Phase, c.TargetVersion = state.Downloading, "1.1.0"
	if err := r.store.Save(st); err != nil {
		t.Fatal(err)
	}
	r.open()
	if err := r.ag.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := r.state().Components["settings"]
	if got.Phase != state.Idle || !strings.Contains(got.LastError, "interrupted while downloading 1.1.0") {
		t.Errorf("after Resume: phase %s, last error %q", got.Phase, got.LastError)
	}
}

func TestHeldPromptApproved(t *testing.T) {
	r := newRig(t, "")
	r.cfg.Policy.DefaultUpgradeType = "prompt"
	r.offer("1.1.0", []byte("x"), "")
	res, outs, err := r.ag.Update(t.Context(), agent.UpdateOptions{})
	if err != nil || len(outs) != 0 || res.Decisions[0].Action != policy.Hold {
		t.Fatalf("Update = %+v, %+v, %v; want hold", res.Decisions, outs, err)
	}
	st := r.ag.Status(t.Context())
	if !st.Components[0].Held || st.Components[0].HeldVersion != "1.1.0" {
		t.Fatalf("status = %+v, want held 1.1.0", st.Components[0])
	}
	if _, err := r.ag.Approve(t.Context(), "nosuch"); err == nil {
		t.Error("approving a component without a held offer succeeded")
	}
	if names, err := r.ag.Approve(t.Context(), ""); err != nil || len(names) != 1 {
		t.Fatalf("Approve = %v, %v", names, err)
	}
	_, outs, err = r.ag.Update(t.Context(), agent.UpdateOptions{})
	if err != nil || len(outs) != 1 {
		t.Fatalf("Update after approve = %+v, %v; want an install", outs, err)
	}
	if c := r.state().Components["settings"]; c.Held != nil || c.Version != "1.1.0" {
		t.Errorf("after install: %+v", c)
	}
}

func TestLocalAPI(t *testing.T) {
	r := newRig(t, "")
	r.cfg.Policy.DefaultUpgradeType = "prompt"
	r.offer("1.1.0", []byte("x"), "")
	if _, _, err := r.ag.Update(t.Context(), agent.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	ln, err := agent.ListenLocal(r.cfg.Device.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(r.cfg.Device.StateDir, state.SocketName))
	if err != nil || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode = %v, %v; want 0660", fi.Mode(), err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- agent.ServeLocal(ctx, ln, r.ag) }()
	c := agent.NewLocalClient(r.cfg.Device.StateDir)
	st, err := c.Status(t.Context())
	if err != nil || len(st.Components) != 1 || !st.Components[0].Held {
		t.Fatalf("Status over socket = %+v, %v", st, err)
	}
	if names, err := c.Approve(t.Context(), "settings"); err != nil || len(names) != 1 {
		t.Errorf("Approve = %v, %v", names, err)
	}
	if _, err := c.Commit(t.Context()); err == nil || !strings.Contains(err.Error(), "no A/B install") {
		t.Errorf("Commit with nothing pending = %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ServeLocal: %v", err)
	}
	if _, err := agent.NewLocalClient(t.TempDir()).Status(t.Context()); err != agent.ErrNoDaemon {
		t.Errorf("Status without daemon = %v, want ErrNoDaemon", err)
	}
}
