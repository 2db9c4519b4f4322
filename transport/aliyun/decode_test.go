package aliyun

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"ota-agent/transport"
)

func readFixture(t testing.TB, name string) []byte {
	b, err := os.ReadFile(filepath.Join("../../testdata/aliyun", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var allow = cmp.AllowUnexported(listAnswer{}, queryAnswer{})

func yes() *bool { b := true; return &b }

// TestSamplesLossless decodes the fixtures and checks every field arrived,
// whichever the key casing.
func TestSamplesLossless(t *testing.T) {
	var tuya listAnswer
	if err := decode(readFixture(t, "tuya_list_camel.json"), &tuya); err != nil {
		t.Fatal(err)
	}
	want := listAnswer{
		envelope: envelope{RequestID: "07e1524e-edba-4316-8c83-8714dfaf5b90", Success: yes()},
		Total:    1, PageSize: 10, PageCount: 1, CurrentPage: 1,
		FirmwareInfo: firmwareList{{
			FirmwareID: "167", FirmwareName: "bleFirmware1", FirmwareDesc: "this is firmware", SrcVersion: "1.0.0", DestVersion: "1.0.1",
			FirmwareSign: "3d04ab6462633508606e5f3daac8****", SignMethod: "MD5", FirmwareSize: 924, ModuleName: "ble",
			ProductKey: "k1nhvyl****", ProductName: "ble1", Status: 0, Type: 0,
			UtcCreate: "2024-11-11T11:11:11.000Z", UtcModified: "2024-11-11T11:11:11.000Z",
		}},
	}
	if diff := cmp.Diff(want, tuya, allow); diff != "" {
		t.Errorf("Tuya sample (-want +got):\n%s", diff)
	}
	var ali listAnswer
	if err := decode(readFixture(t, "alibaba_list_pascal.json"), &ali); err != nil {
		t.Fatal(err)
	}
	if len(ali.FirmwareInfo) != 2 || ali.FirmwareInfo[0].FirmwareURL == "" || ali.FirmwareInfo[1].Type != 1 || ali.Total != 2 || ali.RequestID == "" {
		t.Errorf("Alibaba sample decoded as %+v", ali)
	}
	var q queryAnswer
	if err := decode(readFixture(t, "alibaba_query_pascal.json"), &q); err != nil {
		t.Fatal(err)
	}
	fw := ali.FirmwareInfo[0]
	fw.VerifyProgress, fw.Udi, fw.MultiFiles = 100, `{"ota":"camera"}`, []MultiFile{}
	if diff := cmp.Diff(&fw, q.FirmwareInfo); diff != "" {
		t.Errorf("Query sample vs its List entry (-list +query):\n%s", diff)
	}
}

// TestShapes reads FirmwareInfo in each shape List has been seen in.
func TestShapes(t *testing.T) {
	for _, body := range []string{
		`{"Success":true,"FirmwareInfo":{"SimpleFirmwareInfo":[{"FirmwareId":"1"}]}}`,
		`{"Success":true,"FirmwareInfo":{"SimpleFirmwareInfo":{"FirmwareId":"1"}}}`,
		`{"Success":true,"FirmwareInfo":[{"FirmwareId":"1"}]}`,
		`{"success":true,"firmwareinfo":{"simplefirmwareinfo":[{"FIRMWAREID":1}]}}`,
	} {
		var a listAnswer
		if err := decode([]byte(body), &a); err != nil || len(a.FirmwareInfo) != 1 || a.FirmwareInfo[0].FirmwareID != "1" {
			t.Errorf("decode(%s) = %+v, %v; want one package with id 1", body, a.FirmwareInfo, err)
		}
	}
	for _, body := range []string{`{"Success":true}`, `{"Success":true,"FirmwareInfo":null}`, `{"Success":true,"FirmwareInfo":{}}`, `{"Success":true,"FirmwareInfo":{"SimpleFirmwareInfo":null}}`} {
		var a listAnswer
		if err := decode([]byte(body), &a); err != nil || len(a.FirmwareInfo) != 0 {
			t.Errorf("decode(%s) = %+v, %v; want an empty page", body, a.FirmwareInfo, err)
		}
	}
}

// FuzzDecode feeds answers through both decoders, the selection and the
// Query checks: no panic, and an accepted package has a well-formed digest.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/aliyun/*.json")
	for _, p := range files {
		f.Add(readFixture(f, filepath.Base(p)))
	}
	f.Add([]byte(`{"Success":true,"FirmwareInfo":{"SimpleFirmwareInfo":{"FirmwareId":167,"DestVersion":2.5,"FirmwareSize":"924","Status":"1","FirmwareSign":"d41d8cd98f00b204e9800998ecf8427e"}}}`))
	f.Add([]byte(`{"Success":true,"FirmwareInfo":{"FirmwareId":"x","MultiFiles":{"MultiFiles":[{"Name":"a","Url":"https://a","Size":"3"}]}}}`))
	c := New(Config{Modules: map[string]string{"default": "rootfs", "ble": "mcu"}, AcceptStatus: []int{0, 1, -1}})
	dev := transport.Device{Versions: map[string]string{"rootfs": "1.0.0", "mcu": "1.0.0"}}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var l listAnswer
		if decode(raw, &l) == nil {
			for _, fw := range l.FirmwareInfo {
				if comp, why := c.accepts(fw, dev); why == "" {
					o := offer(comp, fw)
					if len(o.MD5)+len(o.SHA256) != 32 && len(o.MD5)+len(o.SHA256) != 64 {
						t.Errorf("accepted %+v with digest %q/%q", fw, o.MD5, o.SHA256)
					}
					queryURL(&fw, o)
				}
			}
		}
		var q queryAnswer
		if decode(raw, &q) == nil {
			queryURL(q.FirmwareInfo, transport.Offer{Version: "1"})
		}
	})
}
