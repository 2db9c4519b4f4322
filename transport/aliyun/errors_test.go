package aliyun_test

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"ota-agent/transport"
	"ota-agent/transport/aliyun"
	"ota-agent/transport/aliyun/aliyuntest"
)

func wantErr(t *testing.T, err error, code string, retry bool, msg string) *transport.Error {
	t.Helper()
	var e *transport.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *transport.Error", err, err)
	}
	if e.API != "aliyun" || e.Code != code || e.Retryable != retry || !strings.Contains(err.Error(), msg) {
		t.Errorf("error = %q (code %q retryable %v), want code %q retryable %v containing %q", err, e.Code, e.Retryable, code, retry, msg)
	}
	return e
}

func TestGatewayErrors(t *testing.T) {
	tests := []struct {
		name string
		fix  func(*aliyun.Config)
		code string
		msg  string
	}{
		{"wrong secret", func(c *aliyun.Config) { c.AccessKeySecret = "nope" }, "SignatureDoesNotMatch", "access_key_secret_file"},
		{"unknown key id", func(c *aliyun.Config) { c.AccessKeyID = "nope" }, "InvalidAccessKeyId.NotFound", "check access_key_id"},
		{"clock 20 minutes behind", func(c *aliyun.Config) {
			now := c.Now
			c.Now = func() time.Time { return now().Add(-20 * time.Minute) }
		}, "InvalidTimeStamp.Expired", "device clock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := setup(t, false, tt.fix)
			_, err := c.Check(t.Context(), device("1", "1"))
			e := wantErr(t, err, tt.code, false, tt.msg)
			if e.Status != 400 {
				t.Errorf("status = %d, want 400", e.Status)
			}
		})
	}
}

func TestNonceReplayRefused(t *testing.T) {
	e, c := setup(t, false, nil)
	if _, err := c.Check(t.Context(), device("1", "1")); err != nil {
		t.Fatal(err)
	}
	r := e.srv.Requests()[0]
	resp, err := http.Get(e.srv.URL + r.Path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := e.srv.Requests()[1]; got.Status != 400 || got.Code != "SignatureNonceUsed" {
		t.Errorf("replayed request = %d %s, want 400 SignatureNonceUsed", got.Status, got.Code)
	}
	// One changed byte in a parameter breaks the signature.
	tampered := strings.Replace(r.Path, "PageSize=100", "PageSize=101", 1)
	tampered = strings.Replace(tampered, "SignatureNonce=", "SignatureNonce=x", 1)
	resp, err = http.Get(e.srv.URL + tampered)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := e.srv.Requests()[2]; got.Status != 400 || got.Code != "SignatureDoesNotMatch" {
		t.Errorf("tampered request = %d %s, want 400 SignatureDoesNotMatch", got.Status, got.Code)
	}
}

func TestAnswerErrors(t *testing.T) {
	tests := []struct {
		name   string
		answer aliyuntest.Answer
		code   string
		retry  bool
		after  time.Duration
		msg    string
	}{
		{"business error", aliyuntest.Answer{Body: []byte(`{"RequestId":"R1","Success":false,"Code":"iot.prod.NotExistedProduct","ErrorMessage":"product does not exist"}`)}, "iot.prod.NotExistedProduct", false, 0, "product does not exist [RequestId R1]"},
		{"business error camelCase", aliyuntest.Answer{Body: []byte(`{"requestId":"R2","success":false,"code":"iot.system.SystemException","errorMessage":"系统异常"}`)}, "iot.system.SystemException", true, 0, "系统异常"},
		{"throttling", aliyuntest.Answer{Status: 400, Body: []byte(`{"RequestId":"R3","HostId":"h","Code":"Throttling.User","Message":"Request was denied due to user flow control."}`)}, "Throttling.User", true, 0, "flow control"},
		{"503 with Retry-After", aliyuntest.Answer{Status: 503, Header: http.Header{"Retry-After": {"30"}}, Body: []byte(`{"Code":"ServiceUnavailable","Message":"busy"}`)}, "ServiceUnavailable", true, 30 * time.Second, "busy"},
		{"429 plain text", aliyuntest.Answer{Status: 429, Header: http.Header{"Retry-After": {"5"}}, Body: []byte(`slow down`)}, "", true, 5 * time.Second, "slow down"},
		{"no Success field", aliyuntest.Answer{Body: []byte(`{"RequestId":"R4"}`)}, "", false, 0, "no Success field"},
		{"not JSON", aliyuntest.Answer{Body: []byte(`Bad Gateway`)}, "", false, 0, "not a JSON object"},
		{"XML (Format ignored)", aliyuntest.Answer{Body: []byte(`<?xml version="1.0"?><ListOTAFirmwareResponse/>`)}, "", false, 0, "HTML or XML"},
		{"HTML page", aliyuntest.Answer{Body: []byte(`<html><body>portal</body></html>`)}, "", false, 0, "HTML or XML"},
		{"array", aliyuntest.Answer{Body: []byte(`[{"Success":true}]`)}, "", false, 0, "not a JSON object"},
		{"invalid JSON", aliyuntest.Answer{Body: []byte(`{"Success":true,`)}, "", false, 0, "not valid JSON"},
		{"firmwareSize not a number", aliyuntest.Answer{Body: []byte(`{"Success":true,"FirmwareInfo":{"SimpleFirmwareInfo":[{"FirmwareId":"1","DestVersion":"2","FirmwareSize":"924 bytes"}]}}`)}, "", false, 0, `field "FirmwareInfo.FirmwareSize": want a int64, got value "924 bytes"`},
		{"status as bool", aliyuntest.Answer{Body: []byte(`{"Success":true,"FirmwareInfo":{"SimpleFirmwareInfo":[{"FirmwareId":"1","DestVersion":"2","Status":true}]}}`)}, "", false, 0, `"FirmwareInfo.Status"`},
		{"missing FirmwareId", aliyuntest.Answer{Body: []byte(`{"Success":true,"FirmwareInfo":{"SimpleFirmwareInfo":[{"DestVersion":"2"}]}}`)}, "", false, 0, "entry 1 has no FirmwareId or DestVersion"},
		{"Success as string", aliyuntest.Answer{Body: []byte(`{"Success":"true"}`)}, "", false, 0, `field "Success"`},
		{"huge", aliyuntest.Answer{Body: append([]byte(`{"Success":true,"X":"`), bytes.Repeat([]byte("a"), 10<<20)...)}, "", false, 0, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, c := setup(t, false, nil)
			e.srv.Enqueue("ListOTAFirmware", tt.answer)
			_, err := c.Check(t.Context(), device("1", "1"))
			te := wantErr(t, err, tt.code, tt.retry, tt.msg)
			if te.RetryAfter != tt.after {
				t.Errorf("RetryAfter = %v, want %v", te.RetryAfter, tt.after)
			}
			if !strings.HasPrefix(err.Error(), "aliyun check (ListOTAFirmware page 1)") {
				t.Errorf("error %q does not name the API and step", err)
			}
		})
	}
}

func TestLenientTypes(t *testing.T) {
	e, c := setup(t, false, nil)
	e.srv.Enqueue("ListOTAFirmware", aliyuntest.Answer{Body: []byte(`{"Success":true,"PageCount":"1","FirmwareInfo":{"SimpleFirmwareInfo":{"FirmwareId":167,"DestVersion":2.5,"FirmwareSize":"924","Status":"1","Type":"0","FirmwareSign":"D41D8CD98F00B204E9800998ECF8427E","SignMethod":"md5"}}}`)})
	got, err := c.Check(t.Context(), device("1", "1"))
	want := []transport.Offer{{Component: "rootfs", Version: "2.5", Size: 924, MD5: "d41d8cd98f00b204e9800998ecf8427e", ID: "167", Extra: map[string]string{"module": "", "name": ""}}}
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("offers (-want +got):\n%s", diff)
	}
}

func TestSamples(t *testing.T) {
	// The Tuya sample: module ble, status 0, a masked FirmwareSign. With
	// status 0 accepted it is still turned down: no digest to verify.
	e, c := setup(t, false, func(c *aliyun.Config) { c.AcceptStatus = []int{0} })
	e.srv.Enqueue("ListOTAFirmware", aliyuntest.Answer{Body: aliyuntest.SampleTuyaList})
	got, err := c.Check(t.Context(), device("1", "1.0.0"))
	if err != nil || len(accepted(got)) != 0 || len(got) != 1 || !strings.Contains(got[0].Refused, "FirmwareSign") {
		t.Errorf("Tuya sample: Check = %+v, %v; want one offer refused for its masked digest", got, err)
	}
	// The Alibaba sample: a full package for default and a delta for ble.
	e, c = setup(t, false, nil)
	e.srv.Enqueue("ListOTAFirmware", aliyuntest.Answer{Body: aliyuntest.SampleAlibabaList})
	e.srv.Enqueue("QueryOTAFirmware", aliyuntest.Answer{Body: aliyuntest.SampleAlibabaQuery})
	got, err = c.Check(t.Context(), device("3.0.0", "1.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	want := []transport.Offer{
		{Component: "rootfs", Version: "4.0.0", Size: 4194304, MD5: "93d9c1ce8f9e4c34b8e8d5c3b2b4c5a6", Notes: "Security fixes", ID: "UfuxnwygsuSkVE0VCN****0100", Extra: map[string]string{"module": "default", "name": "rootfs-4.0.0"}},
		{Component: "mcu", Version: "1.0.2", Size: 924, SHA256: "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b", SrcVersion: "1.0.1", ID: "Ble9xkwygsuSkVE0VCN****0101", Extra: map[string]string{"module": "ble", "name": "ble-1.0.2-delta"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Alibaba sample offers (-want +got):\n%s", diff)
	}
	u, err := c.ResolveURL(t.Context(), got[0])
	if want := "https://iotx-ota.oss-cn-shanghai.aliyuncs.com/ota/a19mzPZabcd/rootfs-4.0.0.bin?Expires=1732012063&OSSAccessKeyId=LTAI4Fdd****&Signature=farzC8%2FVMN4dSnM%3D"; err != nil || u != want {
		t.Errorf("ResolveURL = %q, %v; want the presigned URL verbatim %q", u, err, want)
	}
}

func TestResolveErrors(t *testing.T) {
	offer := transport.Offer{Component: "rootfs", Version: "4.0.0", Size: 4194304, MD5: "93d9c1ce8f9e4c34b8e8d5c3b2b4c5a6", ID: "UfuxnwygsuSkVE0VCN****0100"}
	q := string(aliyuntest.SampleAlibabaQuery)
	tests := []struct {
		name, body, code, msg string
		offer                 transport.Offer
	}{
		{"changed size", strings.Replace(q, `"FirmwareSize":4194304`, `"FirmwareSize":5`, 1), "", "size is now 5", offer},
		{"changed version", strings.Replace(q, `"DestVersion":"4.0.0"`, `"DestVersion":"4.0.1"`, 1), "", `version is now "4.0.1"`, offer},
		{"changed digest", strings.Replace(q, `93d9c1ce`, `00000000`, 1), "", "digest is now", offer},
		{"multi-file", `{"Success":true,"FirmwareInfo":{"FirmwareId":"x","MultiFiles":{"MultiFiles":[{"Name":"a","Url":"https://a"},{"Name":"b","Url":"https://b"}]}}}`, "", "2 MultiFiles", offer},
		{"no FirmwareInfo", `{"Success":true}`, "", "no FirmwareInfo", offer},
		{"not existing", `{"Success":false,"Code":"iot.ota.NotExistedFirmware","ErrorMessage":"The firmware does not exist."}`, "iot.ota.NotExistedFirmware", "does not exist", offer},
		{"no id", `{}`, "", "no FirmwareId", transport.Offer{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, c := setup(t, false, nil)
			e.srv.Enqueue("QueryOTAFirmware", aliyuntest.Answer{Body: []byte(tt.body)})
			_, err := c.ResolveURL(t.Context(), tt.offer)
			wantErr(t, err, tt.code, false, tt.msg)
		})
	}
	// A single entry in MultiFiles (flat array) is used.
	e, c := setup(t, false, nil)
	e.srv.Enqueue("QueryOTAFirmware", aliyuntest.Answer{Body: []byte(`{"Success":true,"FirmwareInfo":{"FirmwareId":"x","MultiFiles":[{"Name":"a","Url":"https://oss/a b+c?Signature=%2F"}]}}`)})
	if u, err := c.ResolveURL(t.Context(), offer); err != nil || u != "https://oss/a b+c?Signature=%2F" {
		t.Errorf("ResolveURL with one MultiFiles entry = %q, %v", u, err)
	}
}

func TestConfigErrors(t *testing.T) {
	_, err := aliyun.New(aliyun.Config{}).Check(t.Context(), device("1", "1"))
	wantErr(t, err, "", false, "endpoint is empty; access_key_id is empty; access key secret is empty (access_key_secret_file); modules is empty")
}
