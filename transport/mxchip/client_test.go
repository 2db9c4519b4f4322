package mxchip_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"ota-agent/transport"
	"ota-agent/transport/mxchip"
	"ota-agent/transport/mxchip/mxchiptest"
)

func testConfig(t *testing.T, srv *mxchiptest.Server) mxchip.Config {
	return mxchip.Config{BaseURL: srv.URL, ProductID: "p1", Token: srv.Token() + "\n", DeviceID: "dev-1",
		MCUComponent: "mcu", WiFiComponent: "wifi",
		Log: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))}
}

func newPair(t *testing.T, opts mxchiptest.Options) (*mxchiptest.Server, *mxchip.Client) {
	t.Helper()
	srv := mxchiptest.NewServer(opts)
	t.Cleanup(srv.Close)
	return srv, mxchip.New(testConfig(t, srv))
}

var device = transport.Device{ID: "dev-1", Versions: map[string]string{"mcu": "1.0.0", "wifi": " 2.0.0\n", "rootfs": "x"}}

// firmware adds an MCU and a Wi-Fi image to srv and returns its files.
func firmware(srv *mxchiptest.Server) []mxchiptest.File {
	mcu, wifi := []byte("mcu image 1.0.1"), []byte("wifi image 2.1.0")
	return []mxchiptest.File{
		{FileURL: srv.AddFile("mcu 1.0.1.bin", mcu), MD5: strings.ToUpper(mxchiptest.MD5Hex(mcu)), Version: "1.0.1", OTAType: 0},
		{FileURL: srv.AddFile("wifi.bin", wifi), MD5: mxchiptest.MD5Hex(wifi), Version: "2.1.0 ", OTAType: 1, Customize: "beta"},
	}
}

// TestCheckAndReport runs a whole cycle against the fake over loopback:
// check, report the new versions, check again.
func TestCheckAndReport(t *testing.T) {
	srv, c := newPair(t, mxchiptest.Options{ProductID: "p1"})
	files := firmware(srv)
	srv.SetFiles(files)
	got, err := c.Check(t.Context(), device)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	want := []transport.Offer{
		{Component: "mcu", Version: "1.0.1", URL: files[0].FileURL, MD5: strings.ToLower(files[0].MD5), Extra: map[string]string{"ota_type": "0"}},
		{Component: "wifi", Version: "2.1.0", URL: files[1].FileURL, MD5: files[1].MD5, Notes: "beta", Extra: map[string]string{"ota_type": "1", "customize": "beta"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Check mismatch (-want +got):\n%s", diff)
	}
	r := srv.Requests()[0]
	if r.RequestURI != "/api/v1/ota/device/?product_id=p1&wifi_version=2.0.0&mcu_version=1.0.0" {
		t.Errorf("check request = %q, want the seed's path and query order", r.RequestURI)
	}
	if got := r.Header.Get("Authorization"); got != "token "+mxchiptest.SeedToken {
		t.Errorf("Authorization = %q, want %q", got, "token "+mxchiptest.SeedToken)
	}
	if b := fetch(t, got[0].URL); mxchiptest.MD5Hex(b) != got[0].MD5 {
		t.Errorf("downloaded MCU image MD5 = %s, want %s", mxchiptest.MD5Hex(b), got[0].MD5)
	}
	rep := transport.Report{Component: "mcu", Version: "1.0.1", FromVersion: "1.0.0", Event: transport.EventInstall, OK: true,
		Versions: map[string]string{"mcu": "1.0.1", "wifi": "2.1.0"}}
	if err := c.Report(t.Context(), rep); err != nil {
		t.Fatalf("Report: %v", err)
	}
	wantRep := []mxchiptest.VersionReport{{DeviceID: "dev-1", WiFiVersion: "2.1.0", MCUVersion: "1.0.1"}}
	if diff := cmp.Diff(wantRep, srv.Reports()); diff != "" {
		t.Errorf("reports mismatch (-want +got):\n%s", diff)
	}
	reqs := srv.Requests()
	if last := reqs[len(reqs)-1]; last.Method != http.MethodPut || last.RequestURI != "/api/v1/ota/version/" || last.Header.Get("Content-Type") != "application/json" {
		t.Errorf("report request = %s %s (%s), want PUT /api/v1/ota/version/ as JSON", last.Method, last.RequestURI, last.Header.Get("Content-Type"))
	}
	got, err = c.Check(t.Context(), transport.Device{Versions: rep.Versions})
	if err != nil || len(got) != 0 {
		t.Errorf("Check after update = %v, %v; want no offers", got, err)
	}
}

func fetch(t *testing.T, u string) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatalf("NewRequest(%q): %v", u, err)
	}
	req.Header.Set("Range", "bytes=0-")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("GET %q with Range = %d, want 206", u, resp.StatusCode)
	}
	return b
}

// TestCheckSeedSample: the seed sample's md5 "xxzz..." is a placeholder, so
// checking against it gives a clear final error rather than an offer whose
// digest can never match.
func TestCheckSeedSample(t *testing.T) {
	_, c := newPair(t, mxchiptest.Options{})
	_, err := c.Check(t.Context(), device)
	if err == nil || !strings.Contains(err.Error(), `files[0] (ota_type 0): md5 "xxzz..." is not 32 hex digits`) || transport.Retryable(err) {
		t.Errorf("Check(seed sample) = %v, want a final md5 error for files[0]", err)
	}
}

// TestCheckOneModule: a device that manages only the Wi-Fi module sends
// mcu_version "0" (or [server.mxchip] mcu_version), never an empty one the
// server refuses with code 10000, and the MCU file comes back refused with
// the reason (issue 16 item 4).
func TestCheckOneModule(t *testing.T) {
	for _, tt := range []struct{ fixed, sent string }{{"", "0"}, {"MCU-7.2", "MCU-7.2"}} {
		srv := mxchiptest.NewServer(mxchiptest.Options{})
		t.Cleanup(srv.Close)
		cfg := testConfig(t, srv)
		cfg.MCUComponent, cfg.MCUVersion = "", tt.fixed
		c := mxchip.New(cfg)
		srv.SetFiles(firmware(srv))
		got, err := c.Check(t.Context(), transport.Device{Versions: map[string]string{"wifi": "2.0.0"}})
		if err != nil || len(got) != 2 || got[0].Refused == "" || got[1].Component != "wifi" || got[1].Refused != "" {
			t.Fatalf("mcu_version %q: Check = %+v, %v; want the MCU file refused and the wifi offer", tt.fixed, got, err)
		}
		if want := "ota_type 0 is the MCU module, which this agent does not manage (server.mxchip.mcu_component is not set)"; got[0].Refused != want || got[0].Version != "1.0.1" {
			t.Errorf("refused MCU offer = %+v, want version 1.0.1 refused: %s", got[0], want)
		}
		if uri := srv.Requests()[0].RequestURI; !strings.HasSuffix(uri, "&wifi_version=2.0.0&mcu_version="+tt.sent) {
			t.Errorf("check request = %q, want mcu_version=%s", uri, tt.sent)
		}
	}
}

// TestReportOneModule: the version report of a Wi-Fi-only device sends the
// same mcu_version as the check, not an empty one.
func TestReportOneModule(t *testing.T) {
	srv := mxchiptest.NewServer(mxchiptest.Options{})
	t.Cleanup(srv.Close)
	cfg := testConfig(t, srv)
	cfg.MCUComponent = ""
	c := mxchip.New(cfg)
	rep := transport.Report{Component: "wifi", Version: "2.1.0", Event: transport.EventInstall, OK: true, Versions: map[string]string{"wifi": "2.1.0"}}
	if err := c.Report(t.Context(), rep); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]mxchiptest.VersionReport{{DeviceID: "dev-1", WiFiVersion: "2.1.0", MCUVersion: "0"}}, srv.Reports()); diff != "" {
		t.Errorf("reports (-want +got):\n%s", diff)
	}
}

// TestCheckUnknownModule: a file of an ota_type that is neither module is
// refused, with the reason.
func TestCheckUnknownModule(t *testing.T) {
	srv, c := newPair(t, mxchiptest.Options{})
	srv.SetRaw([]byte(`{"meta":{"code":0},"data":{"need_ota":true,"files":[{"ota_type":7,"version":"x"}]}}`))
	got, err := c.Check(t.Context(), device)
	if err != nil || len(got) != 1 || got[0].Refused != "ota_type 7 is neither 0 (MCU) nor 1 (Wi-Fi)" {
		t.Errorf("Check = %+v, %v; want one offer refused for ota_type 7", got, err)
	}
}

// TestCustomizeKept: customize is kept verbatim in Extra["customize"] (and
// trimmed as Notes); the agent acts on none of it (issue 16 item 5).
func TestCustomizeKept(t *testing.T) {
	srv, c := newPair(t, mxchiptest.Options{})
	img := []byte("wifi image 2.1.0")
	srv.SetFiles([]mxchiptest.File{{FileURL: srv.AddFile("wifi.bin", img), MD5: mxchiptest.MD5Hex(img), Version: "2.1.0", OTAType: 1, Customize: ` {"reboot":true} `}})
	got, err := c.Check(t.Context(), device)
	if err != nil || len(got) != 1 {
		t.Fatalf("Check = %+v, %v", got, err)
	}
	if got[0].Extra["customize"] != ` {"reboot":true} ` || got[0].Notes != `{"reboot":true}` {
		t.Errorf("customize: Extra %q, Notes %q; want it verbatim in Extra and trimmed in Notes", got[0].Extra["customize"], got[0].Notes)
	}
}

func TestCheckNoOffers(t *testing.T) {
	file := `{"file_url":"https://h/a.bin","md5":"` + strings.Repeat("a", 32) + `","version":"9","ota_type":0}`
	for _, body := range []string{
		`{"meta":{"code":0,"message":"ota file info"},"data":{"need_ota":false,"files":[]}}`,
		`{"meta":{"code":0},"data":{"need_ota":false,"files":[` + file + `]}}`, // need_ota decides
		`{"meta":{"code":0},"data":{"need_ota":true,"files":[]}}`,
		`{"meta":{"code":0},"data":{"need_ota":true,"files":null}}`,
		`{"meta":{"code":0},"data":{"need_ota":true}}`,
	} {
		srv, c := newPair(t, mxchiptest.Options{})
		srv.SetRaw([]byte(body))
		got, err := c.Check(t.Context(), device)
		if err != nil || len(got) != 0 {
			t.Errorf("Check(%s) = %v, %v; want no offers", body, got, err)
		}
	}
}

func TestReportSkips(t *testing.T) {
	srv, c := newPair(t, mxchiptest.Options{})
	for _, r := range []transport.Report{
		{Event: transport.EventDownload, OK: true},
		{Event: transport.EventInstall, OK: false, Reason: "flash failed"},
	} {
		if err := c.Report(t.Context(), r); err != nil {
			t.Errorf("Report(%+v) = %v, want nil", r, err)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("skipped reports sent %d requests, want 0", n)
	}
	// Without Versions, the report's own component and version fill in.
	if err := c.Report(t.Context(), transport.Report{Component: "wifi", Version: "3.0", Event: transport.EventInstall, OK: true}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]mxchiptest.VersionReport{{DeviceID: "dev-1", WiFiVersion: "3.0"}}, srv.Reports()); diff != "" {
		t.Errorf("reports mismatch (-want +got):\n%s", diff)
	}
}

// TestTrailingSlash shows why the client keeps the seed's slashes: the fake,
// like Django's APPEND_SLASH, redirects, and a redirected PUT becomes a GET.
func TestTrailingSlash(t *testing.T) {
	srv, _ := newPair(t, mxchiptest.Options{})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, srv.URL+"/api/v1/ota/version", strings.NewReader(`{"device_id":"d"}`))
	req.Header.Set("Authorization", "token "+srv.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("slash-less PUT = %d, want it to fail (401 or 405)", resp.StatusCode)
	}
	if n := len(srv.Reports()); n != 0 {
		t.Errorf("slash-less PUT recorded %d reports, want 0", n)
	}
}

func TestCheckCancelled(t *testing.T) {
	_, c := newPair(t, mxchiptest.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := c.Check(ctx, device)
	if !errors.Is(err, context.Canceled) || transport.Retryable(err) {
		t.Errorf("Check(cancelled) = %v, want context.Canceled, not retryable", err)
	}
}

// TestFakeAuth: the fake answers like Django REST framework's token auth.
func TestFakeAuth(t *testing.T) {
	srv, _ := newPair(t, mxchiptest.Options{})
	tests := []struct {
		header string
		status int
		detail string
	}{
		{"Token " + mxchiptest.SeedToken, http.StatusOK, ""},
		{"token " + mxchiptest.SeedToken, http.StatusOK, ""},
		{"", http.StatusUnauthorized, "Authentication credentials were not provided."},
		{"Bearer " + mxchiptest.SeedToken, http.StatusUnauthorized, "Authentication credentials were not provided."},
		{"token", http.StatusUnauthorized, "Invalid token header. No credentials provided."},
		{"token a b", http.StatusUnauthorized, "Invalid token header. Token string should not contain spaces."},
		{"token " + strings.ToUpper(mxchiptest.SeedToken), http.StatusUnauthorized, "Invalid token."},
	}
	for _, tt := range tests {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/api/v1/ota/device/?product_id=p&wifi_version=1&mcu_version=1", nil)
		if tt.header != "" {
			req.Header.Set("Authorization", tt.header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.detail) {
			t.Errorf("Authorization %q = %d %s, want %d %q", tt.header, resp.StatusCode, b, tt.status, tt.detail)
		}
	}
}
