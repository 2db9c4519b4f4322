package upgradelink_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"ota-agent/transport"
	"ota-agent/transport/upgradelink"
	"ota-agent/transport/upgradelink/upgradelinktest"
)

func TestBadAnswers(t *testing.T) {
	tests := []struct {
		name string
		body string
		msg  string
	}{
		{"not JSON", `Service Unavailable`, "not a JSON object"},
		{"HTML page", `<!DOCTYPE html><html><body>Login to Wi-Fi</body></html>`, "HTML or XML"},
		{"array", `[{"code":200}]`, "not a JSON object"},
		{"empty", ``, "empty answer"},
		{"truncated", `{"code":200,"data":{`, "not valid JSON"},
		{"no code", `{"msg":"ok","data":{"versionCode":2}}`, `no "code" field`},
		{"code as string", `{"code":"200"}`, `field "code": want a int64, got a JSON string`},
		{"200 without data", `{"code":200,"msg":"x"}`, "without data"},
		{"200 with null data", `{"code":200,"data":null}`, "without data"},
		{"data is array", `{"code":200,"data":[1]}`, "data is not a JSON object"},
		{"versionCode as string", `{"code":200,"data":{"versionCode":"2","urlPath":"https://x"}}`, `field "versionCode": want a int64, got a JSON string`},
		{"urlFileSize as string", `{"code":200,"data":{"versionCode":2,"urlPath":"https://x","urlFileSize":"12MB"}}`, `field "urlFileSize"`},
		{"negative size", `{"code":200,"data":{"versionCode":2,"urlPath":"https://x","urlFileSize":-1}}`, "negative"},
		{"versionCode 0", `{"code":200,"data":{"versionCode":0,"urlPath":"https://x"}}`, "versionCode 0"},
		{"missing urlPath", `{"code":200,"data":{"versionCode":2}}`, "no urlPath"},
		{"bad md5", `{"code":200,"data":{"versionCode":2,"urlPath":"https://x","urlFileMd5":"xyz"}}`, "not 32 hex digits"},
		{"unknown code", `{"code":301,"msg":"moved"}`, "code 301"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := setup(t, "file", nil)
			srv.Enqueue("/v1/file/upgrade", upgradelinktest.Answer{Body: []byte(tt.body)})
			offers, err := c.Check(t.Context(), dev("1"))
			if err == nil || !strings.HasPrefix(err.Error(), "upgradelink check") || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Check = %v, %v; want an upgradelink check error containing %q", offers, err, tt.msg)
			}
			if transport.Retryable(err) {
				t.Errorf("Retryable(%v) = true, want final", err)
			}
		})
	}
}

func TestHugeAnswer(t *testing.T) {
	srv, c := setup(t, "file", nil)
	body := append([]byte(`{"code":0,"msg":"`), bytes.Repeat([]byte("a"), 10<<20)...)
	srv.Enqueue("/v1/file/upgrade", upgradelinktest.Answer{Body: append(body, `"}`...)})
	_, err := c.Check(t.Context(), dev("1"))
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Check of a 10 MB answer = %v, want a bounded-read error", err)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  upgradelink.Config
		dev  transport.Device
		msg  string
	}{
		{"empty", upgradelink.Config{}, dev("1"), "base_url is empty; access_key is empty; secret key is empty"},
		{"bad kind", upgradelink.Config{BaseURL: "http://x", AccessKey: "a", SecretKey: "s", Kind: "apk", Key: "k", Component: "c"}, dev("1"), `kind "apk"`},
		{"lnx without arch", upgradelink.Config{BaseURL: "http://x", AccessKey: "a", SecretKey: "s", Kind: "lnx", Key: "k", Component: "c"}, dev("1"), "arch is empty"},
		{"no such component", upgradelink.Config{BaseURL: "http://x", AccessKey: "a", SecretKey: "s", Kind: "file", Key: "k", Component: "c"}, dev("1"), `no current version for component "c"`},
		{"version not numeric", upgradelink.Config{BaseURL: "http://x", AccessKey: "a", SecretKey: "s", Kind: "file", Key: "k", Component: "rootfs"}, dev("1.0.0"), "not a positive integer"},
		{"version 0", upgradelink.Config{BaseURL: "http://x", AccessKey: "a", SecretKey: "s", Kind: "file", Key: "k", Component: "rootfs"}, dev("0"), "not a positive integer"},
	}
	for _, tt := range tests {
		_, err := upgradelink.New(tt.cfg).Check(t.Context(), tt.dev)
		if err == nil || !strings.Contains(err.Error(), tt.msg) || transport.Retryable(err) {
			t.Errorf("%s: Check = %v, want a final error containing %q", tt.name, err, tt.msg)
		}
	}
}

// TestFixtures checks testdata/upgradelink holds the samples the fake serves.
func TestFixtures(t *testing.T) {
	for name, want := range map[string][]byte{
		"configuration_request.json":     upgradelinktest.SampleRequest,
		"configuration_new_version.json": upgradelinktest.SampleNewVersion,
		"latest.json":                    upgradelinktest.SampleLatest,
		"error_404001.json":              upgradelinktest.SampleError404,
	} {
		got, err := os.ReadFile("../../testdata/upgradelink/" + name)
		if err != nil || !bytes.Equal(bytes.TrimSpace(got), want) {
			t.Errorf("testdata/upgradelink/%s = %q, %v; want the sample %q", name, got, err, want)
		}
	}
}
