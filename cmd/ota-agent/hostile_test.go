package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ota-agent/agent/state"
	"ota-agent/transport"
	"ota-agent/transport/akaso/akasotest"
)

// hostileVersion clears the screen and sets the terminal title.
const hostileVersion = "1.2\x1b[2J\x1b]0;pwn\x07"

// noRawControl fails when out holds a byte a terminal or a log reader would
// act on: ESC, BEL, CR, a C1 control, or a newline that is not a line end
// the command itself printed (every line must be at most max bytes).
func noRawControl(t *testing.T, what, out string, max int) {
	t.Helper()
	for _, bad := range []string{"\x1b", "\x07", "\r", "\u009b", "\u0085", "\x00"} {
		if strings.Contains(out, bad) {
			t.Errorf("%s holds raw %q:\n%q", what, bad, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if len(line) > max {
			t.Errorf("%s has a line of %d bytes (max %d): %.120q…", what, len(line), max, line)
		}
	}
}

// hostileEntry is an AKASO entry for the "settings" component of akasoConfig.
func hostileEntry(version string) akasotest.Entry {
	return akasotest.Entry{UID: "1", MD5Check: strings.Repeat("A", 32), Model: "Brave7_Amba", Src: "http://127.0.0.1:1/package/x.zip",
		VersionName: version, FileSize: "1KB", OTALog: "notes \x1b[31mred\x1b[0m\r\nfake line"}
}

func TestHostileVersionControlChars(t *testing.T) {
	srv := akasotest.NewServer(akasotest.Options{Entries: []akasotest.Entry{hostileEntry(hostileVersion)}})
	t.Cleanup(srv.Close)
	path, dir := akasoConfig(t, srv)
	const reason = `version refused: holds control character \x1b`
	const shown = `1.2\x1b[2J\x1b]0;pwn\x07`

	chk := runBin(t, "-c", path, "check")
	if chk.code != 0 || chk.stdout != "settings "+shown+" (default, 1024 bytes estimated): skip: "+reason+"\n" {
		t.Errorf("check: exit %d, stdout %q, stderr %q", chk.code, chk.stdout, chk.stderr)
	}
	upd := runBin(t, "-c", path, "update")
	if upd.code != 0 || upd.stdout != "settings "+shown+": skip: "+reason+"\nnothing to install\n" {
		t.Errorf("update: exit %d, stdout %q, stderr %q", upd.code, upd.stdout, upd.stderr)
	}
	st := runBin(t, "-c", path, "status")
	if st.code != 0 || !strings.Contains(st.stdout, "decision: settings "+shown+": skip ("+reason+")\n") {
		t.Errorf("status: exit %d, stdout %q", st.code, st.stdout)
	}
	for _, r := range []struct {
		name string
		r    result
	}{{"check", chk}, {"update", upd}, {"status", st}} {
		noRawControl(t, r.name+" stdout", r.r.stdout, 300)
		noRawControl(t, r.name+" stderr", r.r.stderr, 300)
	}
	saved := readState(t, dir)
	if len(saved.Decisions) != 1 || saved.Decisions[0].Version != shown || saved.Decisions[0].Reason != reason {
		t.Errorf("stored decisions = %+v, want version %q and reason %q", saved.Decisions, shown, reason)
	}
	if raw, _ := os.ReadFile(filepath.Join(dir, "state", state.FileName)); strings.Contains(string(raw), `\u001b`) {
		t.Errorf("state.json stores the raw version:\n%s", raw)
	}
}

func TestHostileVersionTooLong(t *testing.T) {
	long := strings.Repeat("9", 10240)
	srv := akasotest.NewServer(akasotest.Options{Entries: []akasotest.Entry{hostileEntry(long)}})
	t.Cleanup(srv.Close)
	path, dir := akasoConfig(t, srv)
	const reason = "version refused: 10240 characters, the limit is 128"
	shown := strings.Repeat("9", 127) + "…"

	upd := runBin(t, "-c", path, "update")
	if upd.code != 0 || upd.stdout != "settings "+shown+": skip: "+reason+"\nnothing to install\n" {
		t.Errorf("update: exit %d, stdout %q, stderr %q", upd.code, upd.stdout, upd.stderr)
	}
	chk := runBin(t, "-c", path, "check")
	if chk.code != 0 || !strings.Contains(chk.stdout, "settings "+shown+" (") || !strings.Contains(chk.stdout, reason) {
		t.Errorf("check: exit %d, stdout %q", chk.code, chk.stdout)
	}
	st := runBin(t, "-c", path, "status")
	for name, out := range map[string]string{"update": upd.stdout, "check": chk.stdout, "status": st.stdout} {
		noRawControl(t, name, out, 400)
	}
	saved := readState(t, dir)
	if len(saved.Decisions) != 1 || saved.Decisions[0].Version != shown || saved.Decisions[0].Reason != reason {
		t.Errorf("stored decisions = %+v", saved.Decisions)
	}
	if fi, err := os.Stat(filepath.Join(dir, "state", state.FileName)); err != nil || fi.Size() > 4096 {
		t.Errorf("state.json: %v, %d bytes; the 10 KB version must not be stored", err, fi.Size())
	}
}

func TestHostileInstallVersion(t *testing.T) {
	srv := akasotest.NewServer(akasotest.Options{Entries: []akasotest.Entry{}})
	t.Cleanup(srv.Close)
	path, dir := akasoConfig(t, srv)
	img := filepath.Join(t.TempDir(), "settings.json")
	if err := os.WriteFile(img, []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ version, want string }{
		{hostileVersion, "ota-agent: install: --version refused: holds control character \\x1b (give a printable version of at most 128 characters)\n"},
		{strings.Repeat("7", 129), "ota-agent: install: --version refused: 129 characters, the limit is 128 (give a printable version of at most 128 characters)\n"},
	} {
		r := runBin(t, "-c", path, "install", "--version", tt.version, img)
		if r.code != 2 || r.stderr != tt.want || r.stdout != "" {
			t.Errorf("install --version %.20q: exit %d, stderr %q, stdout %q; want exit 2, %q", tt.version, r.code, r.stderr, r.stdout, tt.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "remote.json")); !os.IsNotExist(err) {
		t.Errorf("target written despite a refused version: %v", err)
	}
}

func TestHostileEscapeStatusOutput(t *testing.T) {
	path, dir := akasoConfig(t, akasotest.NewServer(akasotest.Options{}))
	now := time.Now()
	st := &state.State{Components: map[string]*state.Component{"settings": {
		Phase: state.Failed, TargetVersion: "2.0\x1b[2J", LastError: "download: server said \x1b]0;pwn\x07\r\nfake: ok",
		Held:   &state.Held{Offer: transport.Offer{Component: "settings", Version: "3.0\x1b[5m"}, Since: now},
		Failed: []state.FailedVersion{{Version: "1.9\x07", Reason: "x", At: now}},
	}}, Decisions: []state.Decision{{Component: "settings", Version: "4.0\u009b2J", Action: "skip", Reason: "why \x1b[1m\nlevel=ERROR"}},
		Warning: "warn \x1b[2J"}
	writeState(t, dir, st)
	r := runBin(t, "-c", path, "status")
	if r.code != 0 {
		t.Fatalf("status: exit %d: %s", r.code, r.stderr)
	}
	noRawControl(t, "status", r.stdout+r.stderr, 300)
	for _, want := range []string{
		`2.0\x1b[2J`, `3.0\x1b[5m`, `1.9\x07`,
		"settings: last error: download: server said \\x1b]0;pwn\\x07\\r\\nfake: ok\n",
		"decision: settings 4.0\\u009b2J: skip (why \\x1b[1m\\nlevel=ERROR)\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestHostileErrorBodyEscapes(t *testing.T) {
	srv := akasotest.NewServer(akasotest.Options{})
	t.Cleanup(srv.Close)
	srv.SetAnswer(&akasotest.Answer{Status: 418, Body: []byte("\x1b[2J\x1b]0;pwn\x07系统繁忙\r\nota-agent: all good\xff")})
	path, _ := akasoConfig(t, srv)
	r := runBin(t, "-c", path, "check")
	want := `\x1b[2J\x1b]0;pwn\x07系统繁忙 ota-agent: all good\xff`
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if r.code != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], "ota-agent: check akaso at ") || !strings.Contains(lines[0], ": HTTP 418: ") || !strings.HasSuffix(lines[0], ": "+want) {
		t.Errorf("check: exit %d, stderr %q; want exit 1 and one line ending in %q", r.code, r.stderr, want)
	}
	noRawControl(t, "check stderr", r.stderr, 400)
}

func readState(t *testing.T, dir string) *state.State {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "state", state.FileName))
	if err != nil {
		t.Fatal(err)
	}
	st, err := state.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func writeState(t *testing.T, dir string, st *state.State) {
	t.Helper()
	b, err := state.Encode(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "state"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "state", state.FileName), b, 0o600); err != nil {
		t.Fatal(err)
	}
}
