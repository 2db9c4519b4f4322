package akaso_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"ota-agent/transport"
	"ota-agent/transport/akaso"
	"ota-agent/transport/akaso/akasotest"
)

// TestCheckErrors: every bad answer is one *transport.Error naming the API,
// final or retryable as SPEC §2 says.
func TestCheckErrors(t *testing.T) {
	good := `{"uid":"1","model":"Cam","version_name":"v1","md5check":"` + strings.Repeat("A", 32) + `","src":"https://h/p.zip","fileSize":"1MB"}`
	bad := func(field, value string) string { // good with one field replaced
		return strings.Replace(good, `"`+field+`":`, `"`+field+`":`+value+`,"x`+field+`":`, 1)
	}
	hdr := func(k, v string) http.Header { return http.Header{k: {v}} }
	tests := []struct {
		name      string
		answer    akasotest.Answer
		retryable bool
		after     time.Duration
		wantErr   string
	}{
		{name: "401", answer: akasotest.Answer{Status: 401, Body: []byte(`{"msg":"no"}`)}, wantErr: "HTTP 401"},
		{name: "403", answer: akasotest.Answer{Status: 403}, wantErr: "HTTP 403"},
		{name: "404 html", answer: akasotest.Answer{Status: 404, Body: []byte("<html>Not Found</html>")}, wantErr: "getVersionList?language=EN: <html>Not Found</html>; check server.base_url"},
		{name: "408", answer: akasotest.Answer{Status: 408}, retryable: true, wantErr: "HTTP 408"},
		{name: "429 retry-after", answer: akasotest.Answer{Status: 429, Header: hdr("Retry-After", "7")}, retryable: true, after: 7 * time.Second, wantErr: "HTTP 429"},
		{name: "500", answer: akasotest.Answer{Status: 500}, retryable: true, wantErr: "HTTP 500"},
		{name: "503 retry-after", answer: akasotest.Answer{Status: 503, Header: hdr("Retry-After", "120")}, retryable: true, after: 2 * time.Minute, wantErr: "HTTP 503"},
		{name: "200 html", answer: akasotest.Answer{Body: []byte("<!DOCTYPE html><html>login</html>")}, wantErr: "got an HTML page"},
		{name: "200 not json", answer: akasotest.Answer{Body: []byte("ok")}, wantErr: "text that is not JSON"},
		{name: "200 empty", answer: akasotest.Answer{}, wantErr: "an empty answer"},
		{name: "error object", answer: akasotest.Answer{Body: []byte(`{"code":10001,"msg":"参数错误"}`)}, wantErr: `code "10001", msg "参数错误"`},
		{name: "busy code in a 200 body", answer: akasotest.Answer{Body: []byte(`{"code":500,"msg":"系统繁忙"}`)}, retryable: true, wantErr: `code "500", msg "系统繁忙"`},
		{name: "5xx code as a string", answer: akasotest.Answer{Body: []byte(`{"code":"503","msg":"unavailable"}`)}, retryable: true, wantErr: `code "503"`},
		{name: "busy message", answer: akasotest.Answer{Body: []byte(`{"code":10002,"msg":"服务繁忙,请稍后再试"}`)}, retryable: true, wantErr: `code "10002"`},
		{name: "object not array", answer: akasotest.Answer{Body: []byte(good)}, wantErr: `object without a "data" array`},
		{name: "md5check number", answer: akasotest.Answer{Body: []byte("[" + bad("md5check", "5") + "]")}, wantErr: `field "md5check" is a JSON number`},
		{name: "src missing", answer: akasotest.Answer{Body: []byte("[" + bad("src", `""`) + "]")}, wantErr: `entry uid "1" for model "Cam": src is missing`},
		{name: "version missing", answer: akasotest.Answer{Body: []byte(`[{"uid":"1","model":"Cam"}]`)}, wantErr: "version_name is missing"},
		{name: "md5 not hex", answer: akasotest.Answer{Body: []byte("[" + bad("md5check", `"xyz"`) + "]")}, wantErr: `md5check "xyz" is not 32 hex digits`},
		{name: "src control char", answer: akasotest.Answer{Body: []byte("[" + bad("src", `"https://h/a\nb.zip"`) + "]")}, wantErr: "is not a usable URL"},
		{name: "src ftp", answer: akasotest.Answer{Body: []byte("[" + bad("src", `"ftp://h/a.zip"`) + "]")}, wantErr: "is not an http(s) URL"},
		{name: "uid not a number", answer: akasotest.Answer{Body: []byte("[" + bad("uid", `"abc"`) + "]")}, wantErr: `uid "abc" is not a decimal number`},
		{name: "body over 1 MiB", answer: akasotest.Answer{Body: []byte("[" + strings.Repeat(good+",", transport.MaxBody/len(good)+1) + good + "]")}, wantErr: "answer larger than 1048576 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := newPair(t, akasotest.Options{})
			srv.SetAnswer(&tt.answer)
			_, err := c.Check(t.Context(), transport.Device{Model: "Cam"})
			var te *transport.Error
			if !errors.As(err, &te) {
				t.Fatalf("Check error = %v (%T), want a *transport.Error", err, err)
			}
			if te.API != "akaso" || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Check error = %q, want API akaso and %q", err, tt.wantErr)
			}
			if transport.Retryable(err) != tt.retryable {
				t.Errorf("Retryable(%q) = %v, want %v", err, !tt.retryable, tt.retryable)
			}
			if got, _ := transport.RetryAfter(err); got != tt.after {
				t.Errorf("RetryAfter(%q) = %v, want %v", err, got, tt.after)
			}
		})
	}
}

// TestCheckLenientTypes: uid as a number still works (it is only an id and
// an ordering key); fileSize as a number has no unit, so the size is unknown.
func TestCheckLenientTypes(t *testing.T) {
	srv, c := newPair(t, akasotest.Options{})
	srv.SetRaw([]byte(`[{"uid":9,"model":"Cam","version_name":"a","md5check":"` + strings.Repeat("a", 32) + `","src":"https://h/a","fileSize":20.8},` +
		`{"uid":10,"model":"Cam","version_name":"b","md5check":"` + strings.Repeat("B", 32) + `","src":"https://h/b","fileSize":20.8}]`))
	got := check(t, c, "Cam")
	if len(got) != 1 || got[0].ID != "10" || got[0].Version != "b" || got[0].Size != 0 || got[0].SizeIsEstimate {
		t.Errorf("Check = %+v, want uid 10, version b, size 0 (unknown)", got)
	}
}

// TestCheckRecovers: a transient 503 is retryable, and the next Check works.
func TestCheckRecovers(t *testing.T) {
	srv, c := newPair(t, akasotest.Options{})
	srv.FailNext(akasotest.Answer{Status: 503, Header: http.Header{"Retry-After": {"3"}}})
	if _, err := c.Check(t.Context(), transport.Device{Model: "Brave8"}); !transport.Retryable(err) {
		t.Fatalf("first Check = %v, want a retryable error", err)
	}
	if got := check(t, c, "Brave8"); len(got) != 1 {
		t.Errorf("second Check = %v, want one offer", got)
	}
}

func TestCheckConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  akaso.Config
		want string
	}{
		{"no component", akaso.Config{BaseURL: "http://127.0.0.1:1", Model: "m"}, "server.akaso.component must be set"},
		{"no model", akaso.Config{BaseURL: "http://127.0.0.1:1", Component: "c"}, "device.model"},
		{"bad base url", akaso.Config{BaseURL: "http://[::1", Model: "m", Component: "c"}, "bad server.base_url"},
	}
	for _, tt := range tests {
		_, err := akaso.New(tt.cfg).Check(t.Context(), transport.Device{})
		if err == nil || !strings.Contains(err.Error(), tt.want) || transport.Retryable(err) {
			t.Errorf("%s: Check = %v, want a final error containing %q", tt.name, err, tt.want)
		}
	}
}

func TestCheckServerDown(t *testing.T) {
	srv := akasotest.NewServer(akasotest.Options{})
	base := srv.BaseURL
	srv.Close()
	_, err := akaso.New(akaso.Config{BaseURL: base, Model: "m", Component: "c"}).Check(t.Context(), transport.Device{})
	var te *transport.Error
	if !errors.As(err, &te) || !te.Retryable {
		t.Errorf("Check(server down) = %v, want a retryable *transport.Error", err)
	}
}
