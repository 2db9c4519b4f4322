package aliyun_test

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"ota-agent/transport"
	"ota-agent/transport/aliyun"
	"ota-agent/transport/aliyun/aliyuntest"
)

// clock is a settable time shared by a fake and its client.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	srv *aliyuntest.Server
	clk *clock
	cfg aliyun.Config
}

func setup(t *testing.T, camel bool, fix func(*aliyun.Config)) (*env, *aliyun.Client) {
	t.Helper()
	clk := &clock{t: time.Date(2024, 11, 19, 9, 47, 43, 0, time.UTC)}
	srv := aliyuntest.NewServer(aliyuntest.Config{CamelCase: camel, Now: clk.Now, URLTTL: time.Hour})
	t.Cleanup(srv.Close)
	cfg := aliyun.Config{
		Endpoint: srv.URL, Region: "cn-shanghai", AccessKeyID: aliyuntest.DefaultAccessKeyID, AccessKeySecret: aliyuntest.DefaultAccessKeySecret,
		ProductKey: "a19mzPZabcd", Modules: map[string]string{"default": "rootfs", "ble": "mcu"},
		Now: clk.Now, Log: slog.New(slog.NewTextHandler(t.Output(), nil)),
	}
	if fix != nil {
		fix(&cfg)
	}
	return &env{srv, clk, cfg}, aliyun.New(cfg)
}

func device(rootfs, mcu string) transport.Device {
	return transport.Device{Versions: map[string]string{"rootfs": rootfs, "mcu": mcu}}
}

func get(t *testing.T, url, rng string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestCheckResolveDownload(t *testing.T) {
	for _, camel := range []bool{false, true} {
		t.Run(map[bool]string{false: "PascalCase", true: "camelCase"}[camel], func(t *testing.T) {
			e, c := setup(t, camel, nil)
			e.srv.AddFirmware(aliyuntest.Firmware{ID: "A1", Name: "rootfs 2.0", ProductKey: "a19mzPZabcd", DestVersion: "2.0.0", Status: 1, Data: []byte("rootfs-two"), Desc: " notes "})
			e.srv.AddFirmware(aliyuntest.Firmware{ID: "B1", Name: "ble", ProductKey: "a19mzPZabcd", ModuleName: "ble", SrcVersion: "1.0.0", DestVersion: "1.1.0", Type: 1, Status: -1, SignMethod: "SHA256", Data: []byte("ble-delta")})
			e.srv.AddFirmware(aliyuntest.Firmware{ID: "X1", ProductKey: "other", DestVersion: "9.0.0", Status: 1, Data: []byte("x")})
			got, err := c.Check(t.Context(), device("1.0.0", "1.0.0"))
			if err != nil {
				t.Fatal(err)
			}
			want := []transport.Offer{
				{Component: "rootfs", Version: "2.0.0", Size: 10, MD5: "a5d1b4bd4e4d1f7c8d6a20b6b1f1ff9f", Notes: "notes", ID: "A1", Extra: map[string]string{"module": "", "name": "rootfs 2.0"}},
				{Component: "mcu", Version: "1.1.0", Size: 9, SHA256: "", SrcVersion: "1.0.0", ID: "B1", Extra: map[string]string{"module": "ble", "name": "ble"}},
			}
			want[0].MD5 = md5hex("rootfs-two")
			want[1].SHA256 = sha256hex("ble-delta")
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("offers (-want +got):\n%s", diff)
			}
			u, err := c.ResolveURL(t.Context(), got[0])
			if err != nil {
				t.Fatal(err)
			}
			if st, b := get(t, u, "bytes=7-"); st != 206 || b != "two" {
				t.Errorf("GET %s Range bytes=7- = %d %q, want 206 \"two\"", u, st, b)
			}
			// The URL expires: 403; ResolveURL again gives a working one.
			e.clk.Add(2 * time.Hour)
			if st, b := get(t, u, ""); st != 403 || !strings.Contains(b, "Request has expired") {
				t.Errorf("GET after expiry = %d %q, want 403 Request has expired", st, b)
			}
			u2, err := c.ResolveURL(t.Context(), got[0])
			if err != nil {
				t.Fatal(err)
			}
			if st, b := get(t, u2, ""); u2 == u || st != 200 || b != "rootfs-two" {
				t.Errorf("GET re-resolved %s = %d %q, want a new URL, 200 \"rootfs-two\"", u2, st, b)
			}
			checkRequests(t, e.srv)
		})
	}
}

// checkRequests checks every API request had all common parameters and a
// fresh nonce.
func checkRequests(t *testing.T, srv *aliyuntest.Server) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range srv.Requests() {
		if r.Action == "" {
			continue
		}
		for k, v := range map[string]string{"Format": "JSON", "Version": "2018-01-20", "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "RegionId": "cn-shanghai", "AccessKeyId": "testid"} {
			if r.Params[k] != v {
				t.Errorf("%s: %s = %q, want %q", r.Action, k, r.Params[k], v)
			}
		}
		if _, err := time.Parse("2006-01-02T15:04:05Z", r.Params["Timestamp"]); err != nil {
			t.Errorf("%s: Timestamp %q not UTC YYYY-MM-DDThh:mm:ssZ", r.Action, r.Params["Timestamp"])
		}
		if n := r.Params["SignatureNonce"]; n == "" || seen[n] {
			t.Errorf("%s: nonce %q empty or reused", r.Action, n)
		}
		seen[r.Params["SignatureNonce"]] = true
		if r.Code != "" {
			t.Errorf("%s answered code %s", r.Action, r.Code)
		}
	}
}

func TestSelection(t *testing.T) {
	e, c := setup(t, false, func(c *aliyun.Config) { c.Modules["gps"] = "gps" })
	add := func(fw aliyuntest.Firmware) {
		fw.ProductKey = "a19mzPZabcd"
		if fw.Status == 0 {
			fw.Status = 1
		}
		e.srv.AddFirmware(fw)
	}
	add(aliyuntest.Firmware{ID: "old", DestVersion: "1.5.0", UtcCreate: "2024-01-01T00:00:00.000Z", Data: []byte("a")})
	add(aliyuntest.Firmware{ID: "new", DestVersion: "1.6.0", UtcCreate: "2024-02-01T00:00:00.000Z", Data: []byte("b")})
	add(aliyuntest.Firmware{ID: "unverified", DestVersion: "1.7.0", Status: 3, UtcCreate: "2024-03-01T00:00:00.000Z", Data: []byte("c")})
	add(aliyuntest.Firmware{ID: "delta-wrong-src", ModuleName: "ble", Type: 1, SrcVersion: "0.9", DestVersion: "2.0", Data: []byte("d")})
	add(aliyuntest.Firmware{ID: "same", ModuleName: "ble", DestVersion: " 1.0.0 ", Data: []byte("e")})
	add(aliyuntest.Firmware{ID: "unknown-module", ModuleName: "wifi", DestVersion: "3", Data: []byte("f")})
	add(aliyuntest.Firmware{ID: "bad-method", ModuleName: "gps", DestVersion: "3", SignMethod: "SM3", Sign: "abc"})
	add(aliyuntest.Firmware{ID: "type2", ModuleName: "gps", DestVersion: "4", Type: 2, Data: []byte("g")})
	got, err := c.Check(t.Context(), device("1.0.0", "1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	refused := map[string]string{}
	for _, o := range got {
		if o.Refused != "" {
			refused[o.ID] = o.Component + ": " + o.Refused
			continue
		}
		ids = append(ids, o.ID)
	}
	if diff := cmp.Diff([]string{"new"}, ids); diff != "" {
		t.Errorf("offered ids (-want +got):\n%s", diff)
	}
	// Every package turned down before policy comes back with its reason
	// (issue 16 item 10); the current version does not.
	wantRefused := map[string]string{
		"unverified":      "rootfs: status 3 is not in accept_status",
		"delta-wrong-src": `mcu: delta from "0.9", have "1.0.0"`,
		"unknown-module":  `module:wifi: module "wifi" is not in [server.aliyun] modules`,
		"bad-method":      `gps: SignMethod "SM3" is not MD5 or SHA256`,
		"type2":           "gps: unknown package type 2",
	}
	if diff := cmp.Diff(wantRefused, refused); diff != "" {
		t.Errorf("refused offers (-want +got):\n%s", diff)
	}
	// accept_status 3 lets the unverified one through; it is newest.
	c = aliyun.New(withStatus(e.cfg, 3, 1))
	got, err = c.Check(t.Context(), device("1.0.0", "1.0.0"))
	if got = accepted(got); err != nil || len(got) != 1 || got[0].ID != "unverified" {
		t.Errorf("with accept_status [3 1]: Check = %+v, %v; want the unverified package", got, err)
	}
}

// accepted drops the offers turned down before policy.
func accepted(offers []transport.Offer) []transport.Offer {
	var out []transport.Offer
	for _, o := range offers {
		if o.Refused == "" {
			out = append(out, o)
		}
	}
	return out
}

func withStatus(cfg aliyun.Config, st ...int) aliyun.Config {
	cfg.AcceptStatus = st
	return cfg
}

func TestPaging(t *testing.T) {
	e, c := setup(t, false, nil)
	for i := range 250 {
		e.srv.AddFirmware(aliyuntest.Firmware{ProductKey: "a19mzPZabcd", DestVersion: "1." + string(rune('a'+i%26)), Status: 1,
			UtcCreate: time.Date(2024, 1, 1, 0, 0, i, 0, time.UTC).Format("2006-01-02T15:04:05.000Z"), Data: []byte{byte(i)}})
	}
	got, err := c.Check(t.Context(), device("0", "0"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "394" {
		t.Errorf("Check over 250 packages = %+v, want the newest (id 394)", got)
	}
	var pages []string
	for _, r := range e.srv.Requests() {
		pages = append(pages, r.Params["CurrentPage"]+"/"+r.Params["PageSize"])
	}
	if diff := cmp.Diff([]string{"1/100", "2/100", "3/100"}, pages); diff != "" {
		t.Errorf("pages requested (-want +got):\n%s", diff)
	}
}

func TestPageLimit(t *testing.T) {
	e, c := setup(t, false, nil)
	page := []byte(`{"Success":true,"Total":100000,"PageCount":1000,"PageSize":100,"FirmwareInfo":{"SimpleFirmwareInfo":[{"FirmwareId":"1","DestVersion":"1"}]}}`)
	for range aliyun.MaxPages + 1 {
		e.srv.Enqueue("ListOTAFirmware", aliyuntest.Answer{Body: page})
	}
	_, err := c.Check(t.Context(), device("0", "0"))
	if err == nil || !strings.Contains(err.Error(), "more than 20 pages") {
		t.Errorf("Check with 1000 pages = %v, want the page-limit error", err)
	}
	if n := len(e.srv.Requests()); n != aliyun.MaxPages {
		t.Errorf("%d pages fetched, want %d", n, aliyun.MaxPages)
	}
}

func TestReportIsNoop(t *testing.T) {
	e, c := setup(t, false, nil)
	if err := c.Report(t.Context(), transport.Report{Event: transport.EventInstall, OK: true}); err != nil {
		t.Errorf("Report = %v, want nil", err)
	}
	if n := len(e.srv.Requests()); n != 0 {
		t.Errorf("Report sent %d requests, want 0", n)
	}
}
