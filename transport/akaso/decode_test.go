package akaso_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"ota-agent/transport/akaso"
	"ota-agent/transport/akaso/akasotest"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../testdata/akaso/" + name)
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

// TestDecodeSeed checks that the seed sample parses without loss, both the
// copy in seed-apis.md §1.5 and the pretty-printed copy on the seed page.
func TestDecodeSeed(t *testing.T) {
	for _, name := range []string{"getVersionList.json", "getVersionList.seed.json"} {
		t.Run(name, func(t *testing.T) {
			got, err := akaso.Decode(readFixture(t, name))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(seedEntries, got); diff != "" {
				t.Errorf("Decode mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFakeServesSeedVerbatim checks the fake's default answer is the fixture.
func TestFakeServesSeedVerbatim(t *testing.T) {
	if !bytes.Equal(akasotest.SeedJSON, readFixture(t, "getVersionList.json")) {
		t.Error("akasotest/seed.json differs from testdata/akaso/getVersionList.json")
	}
	var fake []akaso.Entry
	for _, e := range akasotest.SeedEntries() {
		fake = append(fake, akaso.Entry(e))
	}
	if diff := cmp.Diff(seedEntries, fake); diff != "" {
		t.Errorf("SeedEntries mismatch (-want +got):\n%s", diff)
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    []akaso.Entry
		wantErr string // substring; "" = success
	}{
		{name: "empty array", body: "[]", want: []akaso.Entry{}},
		{name: "uid as number", body: `[{"uid":10,"model":"M"}]`, want: []akaso.Entry{{UID: "10", Model: "M"}}},
		{name: "fileSize as number", body: `[{"uid":"1","fileSize":20.8}]`, want: []akaso.Entry{{UID: "1", FileSize: "20.8"}}},
		{name: "unknown fields ignored", body: `[{"uid":"1","extra":{"a":1}}]`, want: []akaso.Entry{{UID: "1"}}},
		{name: "wrapped in data", body: `{"code":0,"msg":"ok","data":[{"uid":"3"}]}`, want: []akaso.Entry{{UID: "3"}}},
		{name: "wrapped without code", body: `{"data":[]}`, want: []akaso.Entry{}},
		{name: "error object", body: `{"code":500,"msg":"系统异常","data":null}`, wantErr: `error object: code "500", msg "系统异常"`},
		{name: "error code with data array", body: `{"code":401,"msg":"x","data":[]}`, wantErr: `code "401"`},
		{name: "object without data", body: `{"uid":"1"}`, wantErr: `object without a "data" array`},
		{name: "html page", body: "<html><body>502 Bad Gateway</body></html>", wantErr: "an HTML page"},
		{name: "plain text", body: "Internal Server Error", wantErr: "text that is not JSON"},
		{name: "empty body", body: "", wantErr: "an empty answer"},
		{name: "null", body: "null", wantErr: "JSON null"},
		{name: "number", body: "42", wantErr: "a JSON number"},
		{name: "string", body: `"[]"`, wantErr: "a JSON string"},
		{name: "truncated array", body: `[{"uid":"1"}`, wantErr: "decode entry list"},
		{name: "array of strings", body: `["a"]`, wantErr: "entry 0: got a JSON string, want an object"},
		{name: "null entry", body: `[null]`, wantErr: "entry 0: got JSON null"},
		{name: "md5check as number", body: `[{"uid":"1"},{"md5check":123}]`, wantErr: `entry 1: field "md5check" is a JSON number, want a string`},
		{name: "model as array", body: `[{"model":["x"]}]`, wantErr: `field "model" is a JSON array`},
		{name: "uid as bool", body: `[{"uid":true}]`, wantErr: `entry 0: field "uid": got a JSON boolean, want a string or a number`},
		{name: "uid as object", body: `[{"uid":{}}]`, wantErr: "want a string or a number"},
		{name: "fileSize as array", body: `[{"uid":"1","fileSize":[]}]`, wantErr: `field "fileSize": got a JSON array`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := akaso.Decode([]byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Decode(%q) error = %v, want one containing %q", tt.body, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode(%q): %v", tt.body, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decode(%q) mismatch (-want +got):\n%s", tt.body, diff)
			}
		})
	}
}

func TestDecodeNotArraySentinel(t *testing.T) {
	_, err := akaso.Decode([]byte(`{"a":1}`))
	if !errors.Is(err, akaso.ErrNotArray) {
		t.Errorf("Decode(object) = %v, want ErrNotArray", err)
	}
}

func TestParseFileSize(t *testing.T) {
	tests := []struct {
		in     string
		want   int64
		wantOK bool
	}{
		{"20.8MB", 21810381, true}, // 20.8 × 2^20 = 21810380.8, rounded up
		{"13MB", 13 << 20, true},
		{"512KB", 512 << 10, true},
		{"5.7mb", 5976884, true},
		{" 1 GB ", 1 << 30, true},
		{"100B", 100, true},
		{"6.0MB", 6 << 20, true},
		{"20kb", 20 << 10, true}, // MXChip's size style
		{"", 0, false},
		{"20.8", 0, false}, // a bare number: unit unknown
		{"MB", 0, false},
		{"-1MB", 0, false},
		{"1.MB", 0, false},
		{"1e3MB", 0, false},
		{"12 TB", 0, false},
		{"99999999999999999999GB", 0, false},
	}
	for _, tt := range tests {
		got, ok := akaso.ParseFileSize(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("ParseFileSize(%q) = %d, %v, want %d, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

// FuzzDecodeAkaso feeds arbitrary answers to Decode: it must not panic, and
// whatever it accepts must survive an encode/decode round trip unchanged.
func FuzzDecodeAkaso(f *testing.F) {
	f.Add(readFixture(f, "getVersionList.json"))
	f.Add(readFixture(f, "getVersionList.seed.json"))
	f.Add([]byte(`{"code":0,"data":[{"uid":10,"fileSize":1.5}]}`))
	f.Add([]byte(`[{"uid":"2","version_name":"Brave 8_20231107_Vx.2.4\n"}]`))
	f.Add([]byte(`<html>502</html>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := akaso.Decode(b)
		if err != nil {
			return
		}
		again, err := json.Marshal(es)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		es2, err := akaso.Decode(again)
		if err != nil {
			t.Fatalf("Decode(re-encoded %q): %v", again, err)
		}
		if diff := cmp.Diff(es, es2); diff != "" {
			t.Errorf("round trip mismatch (-first +second):\n%s", diff)
		}
	})
}
