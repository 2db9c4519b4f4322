package upgradelink_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"ota-agent/transport"
	"ota-agent/transport/upgradelink"
	"ota-agent/transport/upgradelink/upgradelinktest"
)

// setup starts a fake and returns it with a config for it; fix adjusts the
// config before the client is made.
func setup(t *testing.T, kind string, fix func(*upgradelink.Config)) (*upgradelinktest.Server, *upgradelink.Client) {
	t.Helper()
	srv := upgradelinktest.NewServer(upgradelinktest.Config{Log: slog.New(slog.NewTextHandler(t.Output(), nil))})
	t.Cleanup(srv.Close)
	cfg := upgradelink.Config{
		BaseURL: srv.URL, AccessKey: upgradelinktest.DefaultAccessKey, SecretKey: upgradelinktest.DefaultSecretKey,
		Kind: kind, Key: "LOYlLXNy7wV3ySuh0XgtSg", Component: "rootfs", DevModelKey: "stv1", DevKey: "LOYlLXNy7w",
		Log: slog.New(slog.NewTextHandler(t.Output(), nil)),
	}
	if kind == "lnx" {
		cfg.Arch = "arm64"
	}
	if fix != nil {
		fix(&cfg)
	}
	return srv, upgradelink.New(cfg)
}

func dev(v string) transport.Device {
	return transport.Device{ID: "d1", Versions: map[string]string{"rootfs": v}}
}

func TestCheckKinds(t *testing.T) {
	data := []byte("firmware image bytes")
	tests := []struct {
		name    string
		kind    string
		publish func(*upgradelinktest.Server) upgradelinktest.Strategy
		want    func(upgradelinktest.Strategy) transport.Offer
	}{
		{"configuration", "configuration", func(s *upgradelinktest.Server) upgradelinktest.Strategy {
			st := upgradelinktest.Strategy{VersionName: "v2", VersionCode: 2, UpgradeType: 1, PromptUpgradeContent: "hi", Content: []byte(`{"test":1}`)}
			s.SetStrategy("configuration", "LOYlLXNy7wV3ySuh0XgtSg", st)
			return st
		}, func(st upgradelinktest.Strategy) transport.Offer {
			return transport.Offer{Component: "rootfs", Version: "2", UpgradeType: transport.Prompt, Notes: "hi",
				Payload: []byte(`{"test":1}`), ID: "LOYlLXNy7wV3ySuh0XgtSg@2",
				Extra: map[string]string{"kind": "configuration", "key": "LOYlLXNy7wV3ySuh0XgtSg", "versionName": "v2"}}
		}},
		{"file", "file", func(s *upgradelinktest.Server) upgradelinktest.Strategy {
			return s.Publish("file", "LOYlLXNy7wV3ySuh0XgtSg", 7, 2, data)
		}, func(st upgradelinktest.Strategy) transport.Offer {
			return transport.Offer{Component: "rootfs", Version: "7", URL: st.URLPath, Size: int64(len(data)), UpgradeType: transport.Silent,
				ID: "LOYlLXNy7wV3ySuh0XgtSg@7", Extra: map[string]string{"kind": "file", "key": "LOYlLXNy7wV3ySuh0XgtSg", "versionName": "v7"}}
		}},
		{"url", "url", func(s *upgradelinktest.Server) upgradelinktest.Strategy {
			st := upgradelinktest.Strategy{VersionName: "3.0", VersionCode: 3, UpgradeType: 3, URLPath: "https://cdn.example.com/a+b c.bin?x=%2F"}
			s.SetStrategy("url", "LOYlLXNy7wV3ySuh0XgtSg", st)
			return st
		}, func(st upgradelinktest.Strategy) transport.Offer {
			return transport.Offer{Component: "rootfs", Version: "3", URL: st.URLPath, UpgradeType: transport.Forced,
				ID: "LOYlLXNy7wV3ySuh0XgtSg@3", Extra: map[string]string{"kind": "url", "key": "LOYlLXNy7wV3ySuh0XgtSg", "versionName": "3.0"}}
		}},
		{"lnx", "lnx", func(s *upgradelinktest.Server) upgradelinktest.Strategy {
			return s.Publish("lnx", "LOYlLXNy7wV3ySuh0XgtSg", 12, 0, data)
		}, func(st upgradelinktest.Strategy) transport.Offer {
			return transport.Offer{Component: "rootfs", Version: "12", URL: st.URLPath, Size: int64(len(data)), MD5: st.URLFileMd5,
				ID: "LOYlLXNy7wV3ySuh0XgtSg@12", Extra: map[string]string{"kind": "lnx", "key": "LOYlLXNy7wV3ySuh0XgtSg", "versionName": "v12"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := setup(t, tt.kind, nil)
			st := tt.publish(srv)
			got, err := c.Check(t.Context(), dev("1"))
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if diff := cmp.Diff([]transport.Offer{tt.want(st)}, got); diff != "" {
				t.Errorf("offers (-want +got):\n%s", diff)
			}
			// Up to date at the offered version: no offers.
			got, err = c.Check(t.Context(), dev(got[0].Version))
			if err != nil || len(got) != 0 {
				t.Errorf("Check at the offered version = %v, %v; want no offers", got, err)
			}
			checkRequests(t, srv, tt.kind)
		})
	}
}

// checkRequests checks what the client sent: a fresh nonce each time, no
// test header, the arch for lnx.
func checkRequests(t *testing.T, srv *upgradelinktest.Server, kind string) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range srv.Requests() {
		if r.Header.Get("test") != "" {
			t.Errorf("request %s carries the test header", r.Path)
		}
		n := r.Header.Get("X-Nonce")
		if len(n) < 16 || seen[n] {
			t.Errorf("request %s nonce %q: short or reused", r.Path, n)
		}
		seen[n] = true
		if r.Status == 400 || r.Status == 401 {
			t.Errorf("request %s refused: %d (code %d)", r.Path, r.Status, r.Code)
		}
		if kind == "lnx" && !strings.Contains(string(r.Body), `"arch":"arm64"`) {
			t.Errorf("lnx request body %s has no arch", r.Body)
		}
	}
}

func TestDownloadRange(t *testing.T) {
	srv, c := setup(t, "file", nil)
	srv.Publish("file", "LOYlLXNy7wV3ySuh0XgtSg", 2, 2, []byte("0123456789"))
	offers, err := c.Check(t.Context(), dev("1"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", offers[0].URL, nil)
	req.Header.Set("Range", "bytes=4-")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusPartialContent || string(b) != "456789" {
		t.Errorf("GET Range bytes=4- = %d %q, want 206 \"456789\"", resp.StatusCode, b)
	}
}

func TestSeedSamplesVerbatim(t *testing.T) {
	srv, c := setup(t, "configuration", func(c *upgradelink.Config) { c.Key = "q1hfB1VUQaK9VksTZGPU1Q" })
	srv.Enqueue("/v1/configuration/upgrade", upgradelinktest.Answer{Body: upgradelinktest.SampleNewVersion})
	srv.Enqueue("/v1/configuration/upgrade", upgradelinktest.Answer{Body: upgradelinktest.SampleLatest})
	srv.Enqueue("/v1/configuration/upgrade", upgradelinktest.Answer{Status: 404, Body: upgradelinktest.SampleError404})

	got, err := c.Check(t.Context(), dev("1"))
	want := []transport.Offer{{Component: "rootfs", Version: "2", UpgradeType: transport.Prompt, Notes: "Содержимое подсказки",
		Payload: []byte(`{"test":1}`), ID: "q1hfB1VUQaK9VksTZGPU1Q@2",
		Extra: map[string]string{"kind": "configuration", "key": "q1hfB1VUQaK9VksTZGPU1Q", "versionName": "v2"}}}
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("new version sample (-want +got):\n%s", diff)
	}
	if got, err := c.Check(t.Context(), dev("1")); err != nil || got != nil {
		t.Errorf("latest sample: Check = %v, %v; want no offers (decided on code 0 despite data)", got, err)
	}
	_, err = c.Check(t.Context(), dev("1"))
	wantErr(t, err, 404, "404001", false, "Доступная версия не получена")
	// The request body is the seed's request, byte for byte.
	if b := firstTo(srv, "/v1/configuration/upgrade").Body; string(b) != string(upgradelinktest.SampleRequest) {
		t.Errorf("request body = %s\nwant %s", b, upgradelinktest.SampleRequest)
	}
}

// firstTo returns the first request to path.
func firstTo(srv *upgradelinktest.Server, path string) upgradelinktest.Request {
	for _, r := range srv.Requests() {
		if r.Path == path {
			return r
		}
	}
	return upgradelinktest.Request{}
}

// wantErr checks err is a *transport.Error with these fields.
func wantErr(t *testing.T, err error, status int, code string, retry bool, msg string) *transport.Error {
	t.Helper()
	var e *transport.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *transport.Error", err, err)
	}
	if e.API != "upgradelink" || e.Status != status || e.Code != code || e.Retryable != retry || !strings.Contains(err.Error(), msg) {
		t.Errorf("error = %q (status %d code %q retryable %v), want status %d code %q retryable %v containing %q",
			err, e.Status, e.Code, e.Retryable, status, code, retry, msg)
	}
	return e
}

func TestUpgradeTypes(t *testing.T) {
	for _, tt := range []struct {
		in   int
		want transport.UpgradeType
	}{{0, transport.Default}, {1, transport.Prompt}, {2, transport.Silent}, {3, transport.Forced}, {9, transport.Default}} {
		srv, c := setup(t, "url", nil)
		srv.SetStrategy("url", "LOYlLXNy7wV3ySuh0XgtSg", upgradelinktest.Strategy{VersionCode: 5, UpgradeType: tt.in, URLPath: "https://x/y"})
		got, err := c.Check(t.Context(), dev("4"))
		if err != nil || len(got) != 1 || got[0].UpgradeType != tt.want {
			t.Errorf("upgradeType %d: Check = %v, %v; want upgrade type %q", tt.in, got, err, tt.want)
		}
	}
}

func TestAuthErrors(t *testing.T) {
	future := func() time.Time { return time.Now().Add(10 * time.Minute) }
	tests := []struct {
		name string
		fix  func(*upgradelink.Config)
		code string
		msg  string
	}{
		{"wrong secret", func(c *upgradelink.Config) { c.SecretKey = "0000000000000000" }, "401002", "secret_key_file"},
		{"unknown access key", func(c *upgradelink.Config) { c.AccessKey = "nope" }, "401001", "unknown X-AccessKey"},
		{"clock 10 minutes ahead", func(c *upgradelink.Config) { c.Now = future }, "401001", "device clock"},
		{"unknown key", func(c *upgradelink.Config) { c.Key = "other" }, "404001", "check key and kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := setup(t, "file", tt.fix)
			srv.Publish("file", "LOYlLXNy7wV3ySuh0XgtSg", 2, 2, []byte("x"))
			_, err := c.Check(t.Context(), dev("1"))
			status := 401
			if tt.code == "404001" {
				status = 404
			}
			wantErr(t, err, status, tt.code, false, tt.msg)
			if transport.Retryable(err) {
				t.Errorf("Retryable(%v) = true, want final", err)
			}
		})
	}
}

// TestServerRejectsReplay replays a request the client signed: the fake must
// refuse the reused nonce, and a tampered or upper-case signature.
func TestServerRejectsReplay(t *testing.T) {
	srv, c := setup(t, "file", nil)
	srv.Publish("file", "LOYlLXNy7wV3ySuh0XgtSg", 2, 2, []byte("x"))
	if _, err := c.Check(t.Context(), dev("1")); err != nil {
		t.Fatal(err)
	}
	orig := srv.Requests()[0]
	send := func(body string, h http.Header) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.URL+orig.Path, strings.NewReader(body))
		req.Header = h
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, b := send(string(orig.Body), orig.Header); st != 401 || !strings.Contains(b, "401001") || !strings.Contains(b, "already used") {
		t.Errorf("replay = %d %s, want 401 code 401001 nonce already used", st, b)
	}
	h := orig.Header.Clone()
	h.Set("X-Nonce", "ffffffffffffffff0")
	if st, b := send(string(orig.Body)+" ", h); st != 401 || !strings.Contains(b, "401002") {
		t.Errorf("one body byte changed = %d %s, want 401 code 401002", st, b)
	}
	h = orig.Header.Clone()
	h.Set("X-Nonce", "ffffffffffffffff1")
	h.Set("X-Signature", strings.ToUpper(upgradelink.Sign(upgradelinktest.DefaultSecretKey, orig.Body, "ffffffffffffffff1", h.Get("X-Timestamp"), orig.Path)))
	if st, b := send(string(orig.Body), h); st != 401 || !strings.Contains(b, "401002") {
		t.Errorf("upper-case signature = %d %s, want 401 code 401002", st, b)
	}
	h.Set("test", "test")
	if st, b := send(string(orig.Body), h); st != 400 || !strings.Contains(b, "400001") {
		t.Errorf("test header = %d %s, want 400 code 400001", st, b)
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		name   string
		answer upgradelinktest.Answer
		status int
		code   string
		after  time.Duration
	}{
		{"429 with Retry-After", upgradelinktest.Answer{Status: 429, Header: http.Header{"Retry-After": {"7"}}, Body: []byte(`{"code":429001,"msg":"应用任务策略请求流控限制","docs":"","data":null}`)}, 429, "429001", 7 * time.Second},
		{"500", upgradelinktest.Answer{Status: 500, Body: []byte(`{"code":500001,"msg":"internal","data":null}`)}, 500, "500001", 0},
		{"502 HTML from a proxy", upgradelinktest.Answer{Status: 502, Body: []byte(`<html>bad gateway</html>`)}, 502, "", 0},
		{"HTTP 200 with code 429001", upgradelinktest.Answer{Body: []byte(`{"code":429001,"msg":"limit"}`)}, 0, "429001", 0},
		{"HTTP 200 with 9-digit code", upgradelinktest.Answer{Body: []byte(`{"code":500002001,"msg":"url app does not exist"}`)}, 0, "500002001", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := setup(t, "file", nil)
			srv.Enqueue("/v1/file/upgrade", tt.answer)
			_, err := c.Check(t.Context(), dev("1"))
			e := wantErr(t, err, tt.status, tt.code, true, "")
			if e.RetryAfter != tt.after {
				t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, tt.after)
			}
		})
	}
	// A retry after a retryable error signs afresh and succeeds.
	srv, c := setup(t, "file", nil)
	srv.Publish("file", "LOYlLXNy7wV3ySuh0XgtSg", 2, 2, []byte("x"))
	srv.Enqueue("/v1/file/upgrade", upgradelinktest.Answer{Status: 503, Body: []byte(`{"code":500001}`)})
	if _, err := c.Check(t.Context(), dev("1")); !transport.Retryable(err) {
		t.Fatalf("first Check = %v, want retryable", err)
	}
	if got, err := c.Check(t.Context(), dev("1")); err != nil || len(got) != 1 {
		t.Fatalf("retry = %v, %v; want one offer", got, err)
	}
	checkRequests(t, srv, "file")
}

func TestRedirectToHTTPRefused(t *testing.T) {
	srv, _ := setup(t, "file", nil)
	tls := newRedirector(t, srv.URL)
	c := upgradelink.New(upgradelink.Config{BaseURL: tls.URL, AccessKey: "a", SecretKey: "s", Kind: "file", Key: "k", Component: "rootfs", Client: tls.Client()})
	_, err := c.Check(context.Background(), dev("1"))
	if err == nil || transport.Retryable(err) || !strings.Contains(err.Error(), "plain http") {
		t.Errorf("Check through an https→http redirect = %v, want a final error about plain http", err)
	}
}
