package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"ota-agent/agent"
	"ota-agent/transport/akaso/akasotest"
)

// statusRig is the daemon in-process against the AKASO fake, with a
// unixgram socket in place of systemd's NOTIFY_SOCKET.
type statusRig struct {
	srv    *akasotest.Server
	cfg    string
	state  string
	target string
	sock   *net.UnixConn
	mu     sync.Mutex
	msgs   []string
	logs   syncBuffer
}

// syncBuffer is a bytes.Buffer safe for the daemon's and the test's
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// statusConfig is an agent.toml for the AKASO fake at base with one file
// component at target, prompt offers and a poll every 2 s.
func statusConfig(base, stateDir, target string) string {
	return fmt.Sprintf(`[device]
id = "cam-0001"
model = "Brave7_Amba"
state_dir = %q

[server]
api = "akaso"
base_url = %q
insecure_http = true
poll_interval = "2s"
poll_jitter = "0s"

[server.akaso]
component = "rootfs"

[policy]
default_upgrade_type = "prompt"

[[component]]
name = "rootfs"
type = "file"
version = "1.0.0"
path = %q
mode = "0644"
`, stateDir, base, target)
}

func newStatusRig(t *testing.T) *statusRig {
	t.Helper()
	dir := t.TempDir()
	r := &statusRig{srv: akasotest.NewServer(akasotest.Options{}), state: filepath.Join(dir, "state"),
		target: filepath.Join(dir, "rootfs.img"), cfg: filepath.Join(dir, "agent.toml")}
	t.Cleanup(r.srv.Close)
	if err := os.WriteFile(r.cfg, []byte(statusConfig(r.srv.BaseURL, r.state, r.target)), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r.sock = c
	t.Setenv("NOTIFY_SOCKET", path)
	t.Setenv("JOURNAL_STREAM", "8:12345")
	go r.collect()
	return r
}

// collect records every datagram the daemon sends.
func (r *statusRig) collect() {
	buf := make([]byte, 4096)
	for {
		n, err := r.sock.Read(buf)
		if err != nil {
			return
		}
		r.mu.Lock()
		r.msgs = append(r.msgs, string(buf[:n]))
		r.mu.Unlock()
	}
}

// wait returns the first message at or after index from that matches re,
// and the index after it; it fails the test after a generous 30 s.
func (r *statusRig) wait(t *testing.T, from int, re string) (string, int) {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		msgs := append([]string(nil), r.msgs...)
		r.mu.Unlock()
		for i := from; i < len(msgs); i++ {
			if rx.MatchString(msgs[i]) {
				return msgs[i], i + 1
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Fatalf("no sd_notify message matching %q after message %d in 30 s; got:\n%s\nlog:\n%s", re, from, strings.Join(r.msgs, "\n"), r.logs.String())
	return "", 0
}

// slowFile serves data in 8 pieces 400 ms apart, so the download lasts
// about 3 s and reports progress (STATUS= is throttled to one a second).
func slowFile(t *testing.T, data []byte) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		piece := len(data) / 8
		for i := 0; i < len(data); i += piece {
			_, _ = w.Write(data[i:min(i+piece, len(data))])
			w.(http.Flusher).Flush()
			time.Sleep(400 * time.Millisecond)
		}
	}))
	t.Cleanup(s.Close)
	return s.URL + "/rootfs%20V2.0.0.bin"
}

// TestDaemonStatus: STATUS= follows every step of the daemon, in order:
// started, checking, waiting until T with the offer held for approval,
// checking, downloading N %, installing, waiting, and after a failed check
// waiting with the last error. Under JOURNAL_STREAM every log line is one
// line with component and version and no time.
func TestDaemonStatus(t *testing.T) {
	r := newStatusRig(t)
	data := bytes.Repeat([]byte("ota-agent firmware\n"), 40000)
	r.srv.SetEntries([]akasotest.Entry{{UID: "101", MD5Check: fmt.Sprintf("%X", md5.Sum(data)), ModifyDate: "2026-05-01 10:00:00",
		Model: "Brave7_Amba", Src: slowFile(t, data), VersionName: "2.0.0", FileSize: "0.8MB"}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	e := &env{cfgPath: r.cfg, logFormat: "text", logLevel: "info", stdout: io.Discard, stderr: &r.logs}
	e.log, _ = newLogger(e.stderr, e.logFormat, e.logLevel)
	go func() { done <- cmdRun(ctx, e) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	}()
	_, i := r.wait(t, 0, `^READY=1$`)
	_, i = r.wait(t, i, `^STATUS=started `)
	_, i = r.wait(t, i, `^STATUS=checking akaso$`)
	_, i = r.wait(t, i, `^STATUS=waiting until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ; held for approval: rootfs 2\.0\.0$`)
	if _, err := agent.NewLocalClient(r.state).Approve(ctx, "rootfs"); err != nil {
		t.Fatalf("approve: %v", err)
	}
	_, i = r.wait(t, i, `^STATUS=checking akaso$`)
	_, i = r.wait(t, i, `^STATUS=rootfs: downloading 2\.0\.0$`)
	_, i = r.wait(t, i, `^STATUS=rootfs: downloading 2\.0\.0 [1-9]\d?%$`)
	_, i = r.wait(t, i, `^STATUS=rootfs: installing 2\.0\.0$`)
	_, i = r.wait(t, i, `^STATUS=waiting until [^;]*$`)
	r.srv.SetAnswer(&akasotest.Answer{Status: http.StatusServiceUnavailable})
	_, i = r.wait(t, i, `^STATUS=checking akaso$`)
	r.wait(t, i, `^STATUS=waiting until [^;]*Z; last error: check: .*503`)
	checkJournalLines(t, r.logs.String())
}

// checkJournalLines: each line has a component and the version, and no time.
func checkJournalLines(t *testing.T, logs string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(logs, "\n"), "\n")
	if len(lines) < 5 {
		t.Fatalf("only %d log lines:\n%s", len(lines), logs)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "level=") || !strings.Contains(l, " component=") || !strings.Contains(l, " version="+version) {
			t.Errorf("journal line without level first, component or version=%s: %q", version, l)
		}
	}
	if !strings.Contains(logs, `msg="state transition"`) || !strings.Contains(logs, `msg="next check"`) {
		t.Errorf("transitions or next check missing at info:\n%s", logs)
	}
}
