package agent_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ota-agent/agent"
	"ota-agent/agent/config"
	"ota-agent/agent/state"
	"ota-agent/transport"
	"ota-agent/transport/hawkbit/hawkbittest"
)

const hawkbitConfig = `
[device]
id = "dev-1"
model = "TestCam"
state_dir = "@DIR@/state"

[server]
api = "hawkbit"
base_url = "@URL@"
insecure_http = true
poll_interval = "1h"
poll_jitter = "10m"

[server.hawkbit]
tenant = "DEFAULT"
target_token_file = "@DIR@/token"
chunks = { os = "app", mcu = "mcu" }

[policy]
max_attempts = 1

[download]
stall_timeout = "5s"
max_retries = 1

[[component]]
name = "app"
type = "file"
version = "1.0.0"
path = "@DIR@/etc/app.bin"

[[component]]
name = "mcu"
type = "file"
version = "3.0.0"
path = "@DIR@/etc/mcu.bin"
`

// hawkbitRig is an agent with two file components fed by the fake DDI server.
type hawkbitRig struct {
	t   *testing.T
	dir string
	srv *hawkbittest.Server
	cfg *config.Config
	ag  *agent.Agent
}

func newHawkbitRig(t *testing.T) *hawkbitRig {
	t.Helper()
	r := &hawkbitRig{t: t, dir: t.TempDir(), srv: hawkbittest.New(t, "dev-1", "tok-1")}
	must(t, os.MkdirAll(filepath.Join(r.dir, "etc"), 0o755))
	must(t, os.WriteFile(filepath.Join(r.dir, "token"), []byte("tok-1\n"), 0o600))
	text := strings.NewReplacer("@DIR@", r.dir, "@URL@", r.srv.URL).Replace(hawkbitConfig)
	path := filepath.Join(r.dir, "agent.toml")
	must(t, os.WriteFile(path, []byte(text), 0o600))
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	r.cfg = cfg
	r.open()
	return r
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// open builds the agent as cmd does: one HTTP client for API and downloads.
func (r *hawkbitRig) open() {
	t := r.t
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	store, err := state.Open(r.cfg.Device.StateDir, log)
	must(t, err)
	must(t, store.Lock())
	t.Cleanup(func() { store.Unlock() })
	hc, err := agent.NewHTTPClient(r.cfg)
	must(t, err)
	api, err := agent.NewAPI(r.cfg, hc, log)
	must(t, err)
	targets, err := agent.NewTargets(r.cfg, log)
	must(t, err)
	r.ag, err = agent.New(agent.Options{Config: r.cfg, Store: store, API: api, Targets: targets, HTTP: hc, Log: log})
	must(t, err)
}

func hawkbitAction(id int) hawkbittest.Action {
	return hawkbittest.Action{ID: id, Type: hawkbittest.Forced, Chunks: []hawkbittest.Chunk{
		{Part: "os", Name: "app", Version: "1.2.0", Artifacts: []hawkbittest.Artifact{{Filename: "app.bin", Data: []byte("new application image")}}},
		{Part: "firmware", Name: "mcu", Version: "3.4.1", Artifacts: []hawkbittest.Artifact{{Filename: "mcu.bin", Data: []byte("new mcu firmware")}}},
	}}
}

func TestHawkbitForcedTwoChunksInstall(t *testing.T) {
	r := newHawkbitRig(t)
	r.srv.Add(hawkbitAction(42))
	_, outs, err := r.ag.Update(context.Background(), agent.UpdateOptions{})
	if err != nil || len(outs) != 2 {
		t.Fatalf("Update = %+v, %v", outs, err)
	}
	for name, want := range map[string]string{"app.bin": "new application image", "mcu.bin": "new mcu firmware"} {
		b, err := os.ReadFile(filepath.Join(r.dir, "etc", name))
		if err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
	}
	if st := r.srv.State(42); st != hawkbittest.Finished {
		t.Errorf("server state %s, want FINISHED", st)
	}
	var got []string
	for _, f := range r.srv.Feedback() {
		got = append(got, f.Execution+"/"+f.Finished)
	}
	// download started, downloaded (each chunk, before its install), the
	// progress between the chunks, then closed.
	want := "proceeding/none proceeding/none proceeding/none proceeding/none proceeding/none closed/success"
	if strings.Join(got, " ") != want {
		t.Errorf("feedback %v, want %s", got, want)
	}
	for _, q := range r.srv.Requests() {
		if q.Auth != "TargetToken tok-1" {
			t.Errorf("%s %s without the token (%q)", q.Method, q.Path, q.Auth)
		}
	}
	if a := r.srv.Attributes(); a["model"] != "TestCam" || a["version.app"] != "1.0.0" {
		t.Errorf("attributes %v", a)
	}
}

func TestHawkbitDigestMismatchClosesFailure(t *testing.T) {
	r := newHawkbitRig(t)
	a := hawkbitAction(43)
	a.Chunks = a.Chunks[:1]
	r.srv.Add(a)
	r.srv.SetRaw("/deploymentBase/43", []byte(`{"id":"43","deployment":{"download":"forced","update":"forced","chunks":[`+
		`{"part":"os","version":"1.2.0","name":"app","artifacts":[{"filename":"app.bin","hashes":{"md5":"00000000000000000000000000000000","sha1":"0000000000000000000000000000000000000000"},"size":21,`+
		`"_links":{"download-http":{"href":"`+r.srv.URL+`/DEFAULT/controller/v1/dev-1/softwaremodules/4301/artifacts/app.bin"}}}]}]}}`))
	_, outs, _ := r.ag.Update(context.Background(), agent.UpdateOptions{})
	if len(outs) != 1 || outs[0].Phase != state.Failed {
		t.Fatalf("outcomes %+v, want one failed", outs)
	}
	fb := r.srv.Feedback()
	last := fb[len(fb)-1]
	if last.Execution != "closed" || last.Finished != "failure" || !strings.Contains(last.Details[0], "md5") {
		t.Errorf("last feedback %+v, want closed/failure naming md5", last)
	}
}

func TestHawkbitSleepDrivesPoll(t *testing.T) {
	r := newHawkbitRig(t)
	r.srv.SetSleep("00:00:40")
	hc, _ := agent.NewHTTPClient(r.cfg)
	api, err := agent.NewAPI(r.cfg, hc, nil)
	must(t, err)
	if _, err := api.Check(context.Background(), transport.Device{}); err != nil {
		t.Fatal(err)
	}
	d, ok := api.(transport.Poller).NextPoll()
	if !ok || d != 40*time.Second {
		t.Fatalf("NextPoll = %v, %v", d, ok)
	}
}
