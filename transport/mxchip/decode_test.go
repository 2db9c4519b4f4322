package mxchip_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"ota-agent/transport/mxchip"
	"ota-agent/transport/mxchip/mxchiptest"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../testdata/mxchip", name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

// TestDecodeSeedCheck: the seed's device check answer parses without loss.
func TestDecodeSeedCheck(t *testing.T) {
	meta, data, err := mxchip.DecodeCheck(readFixture(t, "device.json"))
	if err != nil {
		t.Fatalf("DecodeCheck: %v", err)
	}
	if diff := cmp.Diff(mxchip.Meta{Code: 0, Message: "ota file info"}, meta); diff != "" {
		t.Errorf("meta mismatch (-want +got):\n%s", diff)
	}
	want := mxchip.CheckData{NeedOTA: true, Files: []mxchip.File{
		{FileURL: "https://xxx.com/mcu.bin", MD5: "xxzz...", Version: "1.0.1", OTAType: 0, Customize: ""},
		{FileURL: "https://xxx.com/wifi.bin", MD5: "xxzz...", Version: "1.0.1", OTAType: 1, Customize: ""},
	}}
	if diff := cmp.Diff(want, data); diff != "" {
		t.Errorf("data mismatch (-want +got):\n%s", diff)
	}
	if !bytes.Equal(mxchiptest.SeedCheckJSON, readFixture(t, "device.json")) {
		t.Error("mxchiptest/seed_device.json differs from testdata/mxchip/device.json")
	}
}

// TestDecodeSeedEnvelopes: every seed sample is a {meta,data} envelope with
// code 0 (the create sample after fixing the seed's ” quote).
func TestDecodeSeedEnvelopes(t *testing.T) {
	want := map[string]string{
		"oss_token.json": "oss token", "file_create.json": "upload file ok", "files_list.json": "info list",
		"file_info.json": "file info", "file_delete.json": "任务删除成功", "file_update.json": "update file ok",
		"device.json": "ota file info", "version.json": "update version ok",
	}
	for name, msg := range want {
		meta, data, err := mxchip.DecodeEnvelope(readFixture(t, name))
		if err != nil || meta.Code != 0 || meta.Message != msg || !json.Valid(data) {
			t.Errorf("DecodeEnvelope(%s) = %+v, %s, %v; want code 0 %q", name, meta, data, err, msg)
		}
	}
	if _, _, err := mxchip.DecodeEnvelope(readFixture(t, "file_create.seed-invalid.txt")); err == nil {
		t.Error("DecodeEnvelope(seed's invalid create sample) = nil error, want one")
	}
}

func TestDecodeCheck(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantMeta mxchip.Meta
		want     mxchip.CheckData
		wantErr  string
	}{
		{name: "no update", body: `{"meta":{"code":0,"message":"ok"},"data":{"need_ota":false,"files":[]}}`, wantMeta: mxchip.Meta{Message: "ok"}},
		{name: "files null", body: `{"meta":{"code":0},"data":{"need_ota":true,"files":null}}`, want: mxchip.CheckData{NeedOTA: true}},
		{name: "files absent", body: `{"meta":{"code":0},"data":{"need_ota":true}}`, want: mxchip.CheckData{NeedOTA: true}},
		{name: "code as string", body: `{"meta":{"code":"0"},"data":{"need_ota":false}}`},
		{name: "ota_type as string", body: `{"meta":{"code":0},"data":{"need_ota":true,"files":[{"ota_type":"1"}]}}`,
			want: mxchip.CheckData{NeedOTA: true, Files: []mxchip.File{{OTAType: 1}}}},
		{name: "error code, data ignored", body: `{"meta":{"code":10000,"message":"参数错误"},"data":[1]}`, wantMeta: mxchip.Meta{Code: 10000, Message: "参数错误"}},
		{name: "data only", body: `{"data":{"need_ota":true}}`, wantErr: "no meta.code"},
		{name: "meta without code", body: `{"meta":{"message":"x"},"data":{}}`, wantErr: "no meta.code"},
		{name: "meta null", body: `{"meta":null}`, wantErr: "no meta.code"},
		{name: "code as bool", body: `{"meta":{"code":false}}`, wantErr: `field "meta.code": got a JSON boolean, want an integer`},
		{name: "code as float", body: `{"meta":{"code":0.5}}`, wantErr: "want an integer"},
		{name: "array", body: `[{"meta":{"code":0}}]`, wantErr: "got a JSON array, want a {\"meta\",\"data\"} object"},
		{name: "html", body: `<html>502</html>`, wantErr: "got an HTML page"},
		{name: "empty", body: ``, wantErr: "got nothing"},
		{name: "text", body: `Bad Gateway`, wantErr: "text that is not JSON"},
		{name: "truncated", body: `{"meta":{"code":0}`, wantErr: "decode envelope"},
		{name: "data missing", body: `{"meta":{"code":0}}`, wantErr: "data: got nothing"},
		{name: "data array", body: `{"meta":{"code":0},"data":[]}`, wantErr: "data: got a JSON array"},
		{name: "need_ota missing", body: `{"meta":{"code":0},"data":{"files":[]}}`, wantErr: "need_ota is missing"},
		{name: "need_ota string", body: `{"meta":{"code":0},"data":{"need_ota":"true"}}`, wantErr: `field "need_ota" is a JSON string`},
		{name: "files object", body: `{"meta":{"code":0},"data":{"need_ota":true,"files":{}}}`, wantErr: `field "files" is a JSON object`},
		{name: "md5 number", body: `{"meta":{"code":0},"data":{"need_ota":true,"files":[{"md5":5,"ota_type":0}]}}`, wantErr: `field "files.md5" is a JSON number`},
		{name: "ota_type missing", body: `{"meta":{"code":0},"data":{"need_ota":true,"files":[{"version":"1"}]}}`, wantErr: "files[0] has no ota_type"},
		{name: "ota_type bad", body: `{"meta":{"code":0},"data":{"need_ota":true,"files":[{"ota_type":"wifi"}]}}`, wantErr: `field "files.ota_type": got a JSON string, want an integer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			meta, got, err := mxchip.DecodeCheck([]byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("DecodeCheck(%s) error = %v, want one containing %q", tt.body, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeCheck(%s): %v", tt.body, err)
			}
			if diff := cmp.Diff(tt.wantMeta, meta); diff != "" {
				t.Errorf("meta mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("data mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if _, _, err := mxchip.DecodeEnvelope([]byte(`{}`)); !errors.Is(err, mxchip.ErrNoMeta) {
		t.Errorf("DecodeEnvelope({}) = %v, want ErrNoMeta", err)
	}
}

// FuzzDecodeMXChip feeds arbitrary answers to DecodeCheck: no panic, and a
// successful decode re-encodes to an answer that decodes the same.
func FuzzDecodeMXChip(f *testing.F) {
	entries, _ := os.ReadDir("../../testdata/mxchip")
	for _, e := range entries {
		f.Add(readFixture(f, e.Name()))
	}
	f.Add([]byte(`{"meta":{"code":"0"},"data":{"need_ota":true,"files":[{"ota_type":"1","md5":"AB"}]}}`))
	f.Add([]byte(`{"meta":{"code":10000,"message":"参数错误"},"data":{}}`))
	f.Add([]byte(`{"detail":"Invalid token."}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		meta, data, err := mxchip.DecodeCheck(b)
		if err != nil || meta.Code != 0 {
			return
		}
		again, err := json.Marshal(map[string]any{"meta": meta, "data": data})
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		meta2, data2, err := mxchip.DecodeCheck(again)
		if err != nil {
			t.Fatalf("DecodeCheck(re-encoded %s): %v", again, err)
		}
		if diff := cmp.Diff([]any{meta, data}, []any{meta2, data2}); diff != "" {
			t.Errorf("round trip mismatch (-first +second):\n%s", diff)
		}
	})
}
