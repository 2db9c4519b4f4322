package mxchip_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"ota-agent/transport"
	"ota-agent/transport/mxchip"
	"ota-agent/transport/mxchip/mxchiptest"
)

type errCase struct {
	name      string
	answer    *mxchiptest.Answer // canned answer; nil = none
	raw       string             // check body (SetRaw) when answer is nil
	token     string             // client token; "" = the right one
	retryable bool
	after     time.Duration
	code      string
	wantErr   string
}

func ans(status int, body string, kv ...string) *mxchiptest.Answer {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return &mxchiptest.Answer{Status: status, Header: h, Body: []byte(body)}
}

// TestCheckErrors: every bad answer is one *transport.Error naming the API,
// final or retryable as SPEC §2 says, with the server's code when it has one.
func TestCheckErrors(t *testing.T) {
	md5 := strings.Repeat("a", 32)
	file := func(typ, sum, u, v string) string {
		return `{"file_url":"` + u + `","md5":"` + sum + `","version":"` + v + `","ota_type":` + typ + `}`
	}
	ok := func(files ...string) string {
		return `{"meta":{"code":0},"data":{"need_ota":true,"files":[` + strings.Join(files, ",") + `]}}`
	}
	tests := []errCase{
		{name: "wrong token", token: "0000", code: "", wantErr: `HTTP 401: GET http://`},
		{name: "wrong token says why", token: "0000", wantErr: `"Invalid token."; check the token in server.mxchip.token_file`},
		{name: "403", answer: ans(403, `{"detail":"You do not have permission to perform this action."}`), wantErr: "HTTP 403"},
		{name: "404 html", answer: ans(404, `<h1>Not Found</h1>`), wantErr: "HTTP 404"},
		{name: "400 with envelope", answer: ans(400, `{"meta":{"code":10000,"message":"参数错误"},"data":{}}`), code: "10000", wantErr: `"参数错误"`},
		{name: "408", answer: ans(408, ``), retryable: true, wantErr: "HTTP 408"},
		{name: "429", answer: ans(429, `slow down`, "Retry-After", "30"), retryable: true, after: 30 * time.Second, wantErr: "HTTP 429"},
		{name: "500", answer: ans(500, `<html>Server Error (500)</html>`), retryable: true, wantErr: "HTTP 500"},
		{name: "503 retry-after", answer: ans(503, ``, "Retry-After", "5"), retryable: true, after: 5 * time.Second, wantErr: "HTTP 503"},
		{name: "meta code 10000", raw: `{"meta":{"code":10000,"message":"参数错误:缺少product参数"},"data":{}}`, code: "10000", wantErr: `"参数错误:缺少product参数" (parameter error`},
		{name: "meta code 10500", raw: `{"meta":{"code":10500,"message":"ot_id错误"}}`, code: "10500", wantErr: "ot_id错误"},
		{name: "no meta", raw: `{"data":{"need_ota":true}}`, wantErr: "no meta.code"},
		{name: "html 200", raw: `<!DOCTYPE html><html></html>`, wantErr: "an HTML page"},
		{name: "not json", raw: `OK`, wantErr: "text that is not JSON"},
		{name: "array", raw: `[]`, wantErr: "got a JSON array"},
		{name: "need_ota wrong type", raw: `{"meta":{"code":0},"data":{"need_ota":1}}`, wantErr: `field "need_ota" is a JSON number`},
		{name: "files object", raw: `{"meta":{"code":0},"data":{"need_ota":true,"files":{"a":1}}}`, wantErr: `field "files" is a JSON object`},
		{name: "ota_type missing", raw: `{"meta":{"code":0},"data":{"need_ota":true,"files":[{"version":"1"}]}}`, wantErr: "no ota_type"},
		{name: "two MCU files", raw: ok(file("0", md5, "https://h/a", "1"), file("0", md5, "https://h/b", "2")), wantErr: "second file with ota_type 0"},
		{name: "bad md5", raw: ok(file("1", "XYZ", "https://h/a", "1")), wantErr: `files[0] (ota_type 1): md5 "XYZ" is not 32 hex digits`},
		{name: "no version", raw: ok(file("0", md5, "https://h/a", " ")), wantErr: "version is missing"},
		{name: "bad url", raw: ok(file("0", md5, "https://h/a\\tb", "1")), wantErr: "is not a usable URL"},
		{name: "relative url", raw: ok(file("0", md5, "/ota/a.bin", "1")), wantErr: "is not an http(s) URL"},
		{name: "body over 1 MiB", raw: `{"meta":{"code":0},"data":{"need_ota":false,"pad":"` + strings.Repeat("x", transport.MaxBody) + `"}}`, wantErr: "answer larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mxchiptest.NewServer(mxchiptest.Options{})
			t.Cleanup(srv.Close)
			cfg := testConfig(t, srv)
			if tt.token != "" {
				cfg.Token = tt.token
			}
			if tt.answer != nil {
				srv.SetAnswer(tt.answer)
			} else {
				srv.SetRaw([]byte(tt.raw))
			}
			_, err := mxchip.New(cfg).Check(t.Context(), device)
			checkErr(t, err, tt)
		})
	}
}

func checkErr(t *testing.T, err error, tt errCase) {
	t.Helper()
	var te *transport.Error
	if !errors.As(err, &te) {
		t.Fatalf("error = %v (%T), want a *transport.Error", err, err)
	}
	if te.API != "mxchip" || !strings.Contains(err.Error(), tt.wantErr) {
		t.Errorf("error = %q, want API mxchip and %q", err, tt.wantErr)
	}
	if te.Code != tt.code {
		t.Errorf("error %q has code %q, want %q", err, te.Code, tt.code)
	}
	if transport.Retryable(err) != tt.retryable {
		t.Errorf("Retryable(%q) = %v, want %v", err, !tt.retryable, tt.retryable)
	}
	if got, _ := transport.RetryAfter(err); got != tt.after {
		t.Errorf("RetryAfter(%q) = %v, want %v", err, got, tt.after)
	}
}

func TestReportErrors(t *testing.T) {
	rep := transport.Report{Event: transport.EventInstall, OK: true, Versions: map[string]string{"mcu": "2", "wifi": "3"}}
	tests := []errCase{
		{name: "meta code 10000", answer: ans(200, `{"meta":{"code":10000,"message":"参数错误:缺少device_id参数"},"data":{}}`), code: "10000", wantErr: "缺少device_id参数"},
		{name: "502", answer: ans(502, `bad gateway`), retryable: true, wantErr: "mxchip report install: HTTP 502"},
		{name: "wrong token", token: "nope", wantErr: "HTTP 401"},
		{name: "empty 200", answer: ans(200, ``), wantErr: "got nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mxchiptest.NewServer(mxchiptest.Options{})
			t.Cleanup(srv.Close)
			cfg := testConfig(t, srv)
			if tt.token != "" {
				cfg.Token = tt.token
			}
			srv.SetAnswer(tt.answer)
			checkErr(t, mxchip.New(cfg).Report(t.Context(), rep), tt)
			if n := len(srv.Reports()); n != 0 {
				t.Errorf("server recorded %d reports, want 0", n)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	base := mxchip.Config{BaseURL: "http://127.0.0.1:1", ProductID: "p", Token: "t", DeviceID: "d", MCUComponent: "mcu"}
	tests := []struct {
		name   string
		edit   func(*mxchip.Config)
		report bool
		want   string
	}{
		{"no token", func(c *mxchip.Config) { c.Token = " \n" }, false, "token"},
		{"no product", func(c *mxchip.Config) { c.ProductID = "" }, false, "product_id"},
		{"no components", func(c *mxchip.Config) { c.MCUComponent = "" }, false, "mcu_component or wifi_component"},
		{"no version", func(c *mxchip.Config) { c.WiFiComponent = "radio" }, false, `no current version for component "radio"`},
		{"bad base url", func(c *mxchip.Config) { c.BaseURL = "http://[::1" }, false, "bad server.base_url"},
		{"no device id", func(c *mxchip.Config) { c.DeviceID = "" }, true, "device.id must be set"},
	}
	for _, tt := range tests {
		cfg := base
		tt.edit(&cfg)
		c := mxchip.New(cfg)
		var err error
		if tt.report {
			err = c.Report(t.Context(), transport.Report{Event: transport.EventInstall, OK: true})
		} else {
			_, err = c.Check(t.Context(), transport.Device{Versions: map[string]string{"mcu": "1"}})
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) || transport.Retryable(err) {
			t.Errorf("%s: = %v, want a final error containing %q", tt.name, err, tt.want)
		}
	}
}

// TestRecovers: a 503 with Retry-After is retryable; the next Check works.
func TestRecovers(t *testing.T) {
	srv, c := newPair(t, mxchiptest.Options{})
	srv.SetFiles(firmware(srv))
	srv.FailNext(mxchiptest.Answer{Status: 503, Header: http.Header{"Retry-After": {"1"}}})
	if _, err := c.Check(t.Context(), device); !transport.Retryable(err) {
		t.Fatalf("first Check = %v, want retryable", err)
	}
	if got, err := c.Check(t.Context(), device); err != nil || len(got) != 2 {
		t.Errorf("second Check = %v, %v; want two offers", got, err)
	}
}
