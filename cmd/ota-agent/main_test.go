package main_test

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ota-agent/agent/state"
	"ota-agent/cmd/internal/e2ebin"
	"ota-agent/internal/peertest"
	"ota-agent/transport/akaso/akasotest"
	"ota-agent/transport/download/downloadtest"
)

// bin is the ota-agent binary built once for this test run.
var bin string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "ota-agent-bin-")
	if err == nil {
		_, err = e2ebin.ShareCoverage()
	}
	if err == nil {
		// Built as `make build` builds it (static, stripped), so the
		// benchmarks' memory figures are the shipped binary's; with -cover
		// it is covered too (e2ebin).
		bin, err = e2ebin.Build(dir, "ota-agent", ".", "-X main.version=v9.9.9-test")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one run of the binary.
type result struct {
	code           int
	stdout, stderr string
}

func runBin(t *testing.T, args ...string) result {
	t.Helper()
	var r result
	r.code, r.stdout, r.stderr = e2ebin.Run(t, exec.Command(bin, args...))
	return r
}

// specConfig writes the SPEC §8 example with its paths moved under a temp
// dir, secrets present (mode 0600), and returns the config path.
func specConfig(t *testing.T, edit func(string) string) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	b, err := os.ReadFile("testdata/spec.toml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(b), "@DIR@", dir)
	if edit != nil {
		text = edit(text)
	}
	for _, f := range []string{"mxchip.token", "upgradelink.secret", "aliyun.secret"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("s3cr3t-"+f+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path = filepath.Join(dir, "agent.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

func TestVersion(t *testing.T) {
	r := runBin(t, "version")
	if r.code != 0 || !strings.Contains(r.stdout, "ota-agent v9.9.9-test") || !strings.Contains(r.stdout, "go1.") {
		t.Errorf("version = %+v", r)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"frobnicate"}, {"--log-format", "xml", "version"}, {"status", "extra"}, {}, {"approve"}} {
		r := runBin(t, args...)
		if r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, r.code, r.stderr)
		}
	}
}

func TestConfigCheckSpecExample(t *testing.T) {
	for _, api := range []string{"akaso", "mxchip", "upgradelink", "aliyun"} {
		t.Run(api, func(t *testing.T) {
			path, _ := specConfig(t, func(s string) string {
				s = strings.Replace(s, `api = "akaso"`, `api = "`+api+`"`, 1)
				if api == "upgradelink" { // versionCode integers
					s = strings.Replace(s, `version = "1.0.0"`, `version = "100"`, 1)
				}
				return s
			})
			r := runBin(t, "-c", path, "config", "check")
			if r.code != 0 {
				t.Fatalf("config check: exit %d: %s", r.code, r.stderr)
			}
			if strings.Contains(r.stdout, "s3cr3t") {
				t.Errorf("secret printed:\n%s", r.stdout)
			}
			if api != "akaso" && !strings.Contains(r.stdout, "****") {
				t.Errorf("no masked secret in:\n%s", r.stdout)
			}
			for _, key := range []string{`poll_interval = "6h"`, `name = "settings"`, `scheme = "rauc"`} {
				if !strings.Contains(r.stdout, key) {
					t.Errorf("resolved config lacks %s", key)
				}
			}
		})
	}
}

func TestConfigCheckBadFiles(t *testing.T) {
	tests := []struct {
		name string
		edit func(string) string
		prep func(dir string)
		want string
	}{
		{"unknown key", func(s string) string { return strings.Replace(s, "[policy]", "[policy]\nfrobnicate = 1", 1) }, nil, "frobnicate"},
		{"bad duration", func(s string) string {
			return strings.Replace(s, `poll_interval = "6h"`, `poll_interval = "6 hours"`, 1)
		}, nil, "poll_interval"},
		{"world-readable secret", func(s string) string { return strings.Replace(s, `api = "akaso"`, `api = "mxchip"`, 1) },
			func(dir string) { os.Chmod(filepath.Join(dir, "mxchip.token"), 0o644) }, "token_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, dir := specConfig(t, tt.edit)
			if tt.prep != nil {
				tt.prep(dir)
			}
			r := runBin(t, "-c", path, "config", "check")
			lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
			if r.code != 2 || len(lines) != 1 || !strings.Contains(r.stderr, tt.want) || r.stdout != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want exit 2 and one line naming %s", r.code, r.stderr, r.stdout, tt.want)
			}
		})
	}
}

// keys returns the sorted keys of a JSON object.
func keys(t *testing.T, m map[string]json.RawMessage) []string {
	t.Helper()
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func hasAll(t *testing.T, what string, m map[string]json.RawMessage, want ...string) {
	t.Helper()
	for _, k := range want {
		if _, ok := m[k]; !ok {
			t.Errorf("%s lacks %q (has %v)", what, k, keys(t, m))
		}
	}
}

func TestStatusJSONShape(t *testing.T) {
	path, _ := specConfig(t, nil)
	r := runBin(t, "-c", path, "status", "--json")
	if r.code != 0 {
		t.Fatalf("status: exit %d: %s", r.code, r.stderr)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.stdout), &top); err != nil {
		t.Fatal(err)
	}
	hasAll(t, "status", top, "components", "last_check", "next_check")
	var comps []map[string]json.RawMessage
	if err := json.Unmarshal(top["components"], &comps); err != nil || len(comps) != 5 {
		t.Fatalf("components = %s, %v", top["components"], err)
	}
	for _, c := range comps {
		hasAll(t, "component", c, "name", "type", "version", "phase", "target_version", "progress", "held", "failed_versions", "last_error")
		var p map[string]json.RawMessage
		_ = json.Unmarshal(c["progress"], &p)
		hasAll(t, "progress", p, "done", "total")
	}
}

// akasoConfig is a config for a fake AKASO server with one file component.
func akasoConfig(t *testing.T, srv *akasotest.Server) (path, dir string) {
	dir = t.TempDir()
	text := fmt.Sprintf(`[device]
id = "cam-1"
model = "Brave7_Amba"
state_dir = %q
[server]
api = "akaso"
base_url = %q
insecure_http = true
poll_interval = "1h"
[server.akaso]
component = "settings"
[[component]]
name = "settings"
type = "file"
version = "1.0.0"
path = %q
`, filepath.Join(dir, "state"), srv.BaseURL, filepath.Join(dir, "remote.json"))
	path = filepath.Join(dir, "agent.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

func TestCheckJSONShape(t *testing.T) {
	srv := akasotest.NewServer(akasotest.Options{}) // the seed sample
	t.Cleanup(srv.Close)
	path, dir := akasoConfig(t, srv)
	r := runBin(t, "-c", path, "check", "--json")
	if r.code != 0 {
		t.Fatalf("check: exit %d: %s", r.code, r.stderr)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.stdout), &top); err != nil {
		t.Fatal(err)
	}
	hasAll(t, "check", top, "api", "checked_at", "offers", "decisions")
	var ds []map[string]json.RawMessage
	if err := json.Unmarshal(top["decisions"], &ds); err != nil || len(ds) == 0 {
		t.Fatalf("decisions = %s, %v", top["decisions"], err)
	}
	for _, d := range ds {
		hasAll(t, "decision", d, "component", "version", "action", "reason")
	}
	if _, err := os.Stat(filepath.Join(dir, "state", state.FileName)); !os.IsNotExist(err) {
		t.Errorf("check wrote state (%v); it must change nothing", err)
	}
}

func md5hex(b []byte) string {
	sum := md5.Sum(b)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// startDaemon starts `run` and waits until its local API socket exists.
func startDaemon(t *testing.T, path, dir string) (*exec.Cmd, *syncBuffer) {
	return startDaemonUntil(t, path, `msg="next check"`)
}

// startDaemonUntil starts `run` and waits for a log line containing until.
func startDaemonUntil(t *testing.T, path, until string, env ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(bin, "-c", path, "run")
	cmd.Env = append(os.Environ(), env...)
	stderr := &syncBuffer{}
	pr, pw, _ := os.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	started := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		once := false
		for sc.Scan() {
			stderr.WriteString(sc.Text() + "\n")
			if !once && strings.Contains(sc.Text(), until) {
				once = true
				close(started)
			}
		}
	}()
	select {
	case <-started:
	case <-time.After(30 * time.Second): // a hang guard, not a speed check
		cmd.Process.Kill()
		t.Fatalf("daemon did not finish its first check; log:\n%s", stderr.String())
	}
	return cmd, stderr
}

// syncBuffer collects the daemon's log; written by the reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) WriteString(x string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.WriteString(x)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestDaemonLockStatusAndSIGTERM(t *testing.T) {
	srv := akasotest.NewServer(akasotest.Options{})
	t.Cleanup(srv.Close)
	content := []byte(`{"mode": "night"}`)
	u := srv.AddFile("settings 2.0.json", content)
	srv.SetEntries([]akasotest.Entry{{UID: "7", Model: "Brave7_Amba", VersionName: "2.0.0", Src: u, MD5Check: md5hex(content), FileSize: "1KB"}})
	path, dir := akasoConfig(t, srv)
	cmd, log := startDaemon(t, path, dir)

	second := runBin(t, "-c", path, "run")
	want := fmt.Sprintf("another ota-agent (pid %d) holds %s", cmd.Process.Pid, filepath.Join(dir, "state", "lock"))
	if second.code != 1 || !strings.Contains(second.stderr, want) {
		t.Errorf("second run: exit %d, stderr %q; want exit 1 naming %q", second.code, second.stderr, want)
	}

	st := runBin(t, "-c", path, "status", "--json")
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(st.stdout), &top); err != nil || string(top["daemon"]) != "true" {
		t.Errorf("status while running: %s %v; want daemon true", st.stdout, err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "remote.json")); !bytes.Equal(got, content) {
		t.Errorf("daemon did not install the offered file: %q", got)
	}
	if !strings.Contains(st.stdout, `"version": "2.0.0"`) {
		t.Errorf("status after install lacks version 2.0.0:\n%s", st.stdout)
	}
	if string(top["last_check"]) == "null" {
		t.Errorf("status while running has no last_check: %s", st.stdout)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after SIGTERM: %v; log:\n%s", err, log)
		}
	case <-time.After(30 * time.Second): // a hang guard
		cmd.Process.Kill()
		t.Fatalf("run ignored SIGTERM; log:\n%s", log)
	}
	b, err := os.ReadFile(filepath.Join(dir, "state", state.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := state.Decode(b); err != nil {
		t.Errorf("state after SIGTERM: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "state", state.SocketName)); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
	// The lock is free again.
	if r := runBin(t, "-c", path, "approve", "--all"); !strings.Contains(r.stderr, "no held offer") {
		t.Errorf("approve after stop: %+v", r)
	}
}

func TestInstallLocalFile(t *testing.T) {
	srv := akasotest.NewServer(akasotest.Options{Entries: []akasotest.Entry{}})
	t.Cleanup(srv.Close)
	path, dir := akasoConfig(t, srv)
	img := filepath.Join(t.TempDir(), "settings.json")
	content := []byte(`{"fps": 30}`)
	if err := os.WriteFile(img, content, 0o644); err != nil {
		t.Fatal(err)
	}

	bad := runBin(t, "-c", path, "install", "--version", "5.0", "--md5", strings.Repeat("0", 32), img)
	lines := strings.Split(strings.TrimSpace(bad.stderr), "\n")
	last := lines[len(lines)-1]
	if bad.code != 1 || !strings.HasPrefix(last, "ota-agent: ") || !strings.Contains(last, "md5") || !strings.Contains(last, img) {
		t.Errorf("install with wrong md5: exit %d, stderr %q; want exit 1, a last line naming md5 and the file", bad.code, bad.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "remote.json")); !os.IsNotExist(err) {
		t.Fatalf("target written despite a wrong md5: %v", err)
	}

	r := runBin(t, "-c", path, "install", "--version", "5.0", "--md5", strings.ToLower(md5hex(content)), img)
	if r.code != 0 {
		t.Fatalf("install: exit %d: %s", r.code, r.stderr)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "remote.json")); !bytes.Equal(got, content) {
		t.Errorf("target = %q, want %q", got, content)
	}
	st := runBin(t, "-c", path, "status")
	if !strings.Contains(st.stdout, "5.0") {
		t.Errorf("status after install:\n%s", st.stdout)
	}
	if r := runBin(t, "-c", path, "install", "--component", "nosuch", img); r.code != 2 {
		t.Errorf("install --component nosuch: exit %d, want 2", r.code)
	}
	missing := img + ".gone"
	if r := runBin(t, "-c", path, "install", "--version", "5.1", missing); r.code != 1 || !strings.Contains(r.stderr, missing) || !strings.Contains(r.stderr, "no such file") {
		t.Errorf("install of a missing file: exit %d, stderr %q; want 1 naming the file", r.code, r.stderr)
	}
	if r := runBin(t, "-c", path, "install", "--version", "5.1", t.TempDir()); r.code != 1 || !strings.Contains(r.stderr, "not a regular file") {
		t.Errorf("install of a directory: exit %d, stderr %q; want 1, not a regular file", r.code, r.stderr)
	}
}

// stopDaemon sends SIGTERM and waits for a clean exit.
func stopDaemon(t *testing.T, cmd *exec.Cmd, log *syncBuffer) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after SIGTERM: %v; log:\n%s", err, log)
		}
	case <-time.After(30 * time.Second): // a hang guard
		cmd.Process.Kill()
		t.Fatalf("run ignored SIGTERM; log:\n%s", log)
	}
}

func TestSIGTERMMidDownloadResumes(t *testing.T) {
	content := downloadtest.Content{Seed: 7, Size: 2 << 20}
	dl := downloadtest.New(content)
	t.Cleanup(dl.Close)
	dl.SetRate(256 << 10) // 8 s for the whole file: SIGTERM lands mid-way
	srv := akasotest.NewServer(akasotest.Options{})
	t.Cleanup(srv.Close)
	sum, _ := content.Digests()
	srv.SetEntries([]akasotest.Entry{{UID: "8", Model: "Brave7_Amba", VersionName: "3.0.0", Src: dl.URL + "/settings.bin", MD5Check: sum, FileSize: "2MB"}})
	path, dir := akasoConfig(t, srv)

	cmd, log := startDaemonUntil(t, path, "to=downloading")
	stopDaemon(t, cmd, log)
	b, err := os.ReadFile(filepath.Join(dir, "state", state.FileName))
	if err != nil {
		t.Fatal(err)
	}
	st, err := state.Decode(b)
	if err != nil {
		t.Fatalf("state after SIGTERM mid-download: %v", err)
	}
	if c := st.Components["settings"]; c == nil || c.Phase != state.Downloading || c.TargetVersion != "3.0.0" {
		t.Fatalf("state after SIGTERM = %+v; want downloading 3.0.0 persisted", st.Components)
	}
	if _, err := os.Stat(filepath.Join(dir, "remote.json")); !os.IsNotExist(err) {
		t.Fatalf("target touched by an unfinished download: %v", err)
	}

	dl.SetRate(0)
	cmd, log = startDaemon(t, path, dir)
	stopDaemon(t, cmd, log)
	got, _ := os.ReadFile(filepath.Join(dir, "remote.json"))
	if !bytes.Equal(got, content.Bytes()) {
		t.Fatalf("after restart the target holds %d bytes, want the 2 MiB image; log:\n%s", len(got), log)
	}
	if !strings.Contains(log.String(), "interrupted while downloading 3.0.0") {
		t.Errorf("restart did not log the interrupted download; log:\n%s", log)
	}
}

func TestDaemonNotifiesSystemd(t *testing.T) {
	srv := akasotest.NewServer(akasotest.Options{Entries: []akasotest.Entry{}})
	t.Cleanup(srv.Close)
	path, _ := akasoConfig(t, srv)
	sock := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	cmd, log := startDaemonUntil(t, path, `msg="next check"`, "NOTIFY_SOCKET="+sock)
	stopDaemon(t, cmd, log)
	var got []string
	buf := make([]byte, 4096)
	for {
		conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond)) // all sent before the exit
		n, err := conn.Read(buf)
		if err != nil {
			break
		}
		got = append(got, string(buf[:n]))
	}
	if len(got) < 3 || got[0] != "READY=1" || !strings.HasPrefix(got[1], "STATUS=") || got[len(got)-1] != "STOPPING=1" {
		t.Errorf("notify messages = %q; want READY=1, STATUS=..., ..., STOPPING=1", got)
	}
}

func TestStatusShowsCorruptState(t *testing.T) {
	path, dir := specConfig(t, nil)
	if err := os.MkdirAll(filepath.Join(dir, "state"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "state", state.FileName), []byte("{\"components\": tru"), 0o640); err != nil {
		t.Fatal(err)
	}
	r := runBin(t, "-c", path, "status", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"state_warning": "state file`) {
		t.Errorf("status on a corrupt state: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The lock holder moves it aside, keeps it, and says so.
	r = runBin(t, "-c", path, "approve", "--all")
	aside, _ := filepath.Glob(filepath.Join(dir, "state", state.FileName+".corrupt-*"))
	if len(aside) != 1 || !strings.Contains(r.stderr, "state file corrupt") {
		t.Errorf("after a locked command: copies %v, stderr %q", aside, r.stderr)
	}
	r = runBin(t, "-c", path, "status")
	if !strings.Contains(r.stdout, "WARNING: state.json was corrupt") {
		t.Errorf("status after move-aside:\n%s", r.stdout)
	}
}

func TestServiceCommandErrors(t *testing.T) {
	path, _ := specConfig(t, nil)
	if r := runBin(t, "-c", path, "service", "bogus"); r.code != 2 {
		t.Errorf("service bogus: exit %d, want 2", r.code)
	}
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		peertest.Unavailable(t, "host runs systemd; not touching its units")
	}
	r := runBin(t, "-c", path, "service", "status")
	if r.code != 1 || !strings.Contains(r.stderr, "not running systemd") {
		t.Errorf("service status without systemd: exit %d, %q", r.code, r.stderr)
	}
}
