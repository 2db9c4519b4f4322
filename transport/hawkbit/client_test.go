package hawkbit_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"ota-agent/transport"
	"ota-agent/transport/hawkbit"
	"ota-agent/transport/hawkbit/hawkbittest"
)

var rootfs = []byte("rootfs image bytes!")
var mcu = []byte("mcu firmware 17b")

func newPair(t *testing.T) (*hawkbittest.Server, *hawkbit.Client) {
	t.Helper()
	srv := hawkbittest.New(t, "dev-1", "tok-1")
	return srv, newClient(t, srv, filepath.Join(t.TempDir(), "hawkbit.json"))
}

func newClient(t *testing.T, srv *hawkbittest.Server, state string) *hawkbit.Client {
	t.Helper()
	c, err := hawkbit.New(hawkbit.Config{BaseURL: srv.URL, Tenant: "DEFAULT", ControllerID: "dev-1", TargetToken: "tok-1",
		Chunks: map[string]string{"os": "rootfs", "mcu": "mcu"}, Attributes: map[string]string{"model": "cam"}, StateFile: state,
		ArmsOnDownload: func(c string) bool { return c == "rootfs" },
		Log:            slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func twoChunks(id int, typ hawkbittest.Type) hawkbittest.Action {
	return hawkbittest.Action{ID: id, Type: typ, Chunks: []hawkbittest.Chunk{
		{Part: "os", Name: "rootfs", Version: "1.2.0", Artifacts: []hawkbittest.Artifact{{Filename: "rootfs.img", Data: rootfs}}},
		{Part: "firmware", Name: "mcu", Version: "3.4.1", Artifacts: []hawkbittest.Artifact{{Filename: "mcu.bin", Data: mcu}}},
	}}
}

var dev = transport.Device{ID: "dev-1", Model: "cam", Versions: map[string]string{"rootfs": "1.0.0", "mcu": "3.0.0"}}

func TestPollNoActionSendsConfigDataAndSleep(t *testing.T) {
	srv, c := newPair(t)
	srv.SetSleep("00:00:45")
	offers, err := c.Check(context.Background(), dev)
	if err != nil || len(offers) != 0 {
		t.Fatalf("Check = %v, %v; want no offers", offers, err)
	}
	if d, ok := c.NextPoll(); !ok || d != 45*time.Second {
		t.Errorf("NextPoll = %v, %v; want 45s", d, ok)
	}
	got := srv.Attributes()
	if got["model"] != "cam" || got["version.rootfs"] != "1.0.0" || got["version.mcu"] != "3.0.0" {
		t.Errorf("attributes = %v", got)
	}
	for _, r := range srv.Requests() {
		if r.Auth != "TargetToken tok-1" {
			t.Errorf("%s %s: Authorization %q", r.Method, r.Path, r.Auth)
		}
	}
}

func TestForcedTwoChunksFeedbackOrder(t *testing.T) {
	srv, c := newPair(t)
	srv.Add(twoChunks(42, hawkbittest.Forced))
	ctx := context.Background()
	offers, err := c.Check(ctx, dev)
	if err != nil || len(offers) != 2 {
		t.Fatalf("Check = %+v, %v", offers, err)
	}
	m5, s1, s256 := hawkbittest.Digests(rootfs)
	o := offers[0]
	if o.Component != "rootfs" || o.Version != "1.2.0" || o.UpgradeType != transport.Forced || o.MD5 != m5 || o.SHA256 != s256 ||
		o.Extra["sha1"] != s1 || o.Size != int64(len(rootfs)) || o.Refused != "" || !strings.Contains(o.URL, "/softwaremodules/") {
		t.Fatalf("offer 0 = %+v", o)
	}
	for _, o := range offers {
		if u, err := c.ResolveURL(ctx, o); err != nil || u != o.URL {
			t.Fatalf("ResolveURL = %q, %v", u, err)
		}
		report(t, c, o, transport.EventDownload, true, "")
	}
	report(t, c, offers[1], transport.EventInstall, true, "")
	report(t, c, offers[0], transport.EventInstall, true, "")
	report(t, c, offers[0], transport.EventInstall, true, "") // a repeat sends nothing
	want := []string{"proceeding/none 0/2", "proceeding/none 0/2", "proceeding/none 0/2", "proceeding/none 0/2", "proceeding/none 1/2", "closed/success"}
	checkFeedback(t, srv, want)
	if st := srv.State(42); st != hawkbittest.Finished {
		t.Errorf("state = %s, want FINISHED", st)
	}
}

func report(t *testing.T, c *hawkbit.Client, o transport.Offer, ev transport.Event, ok bool, reason string) {
	t.Helper()
	if err := c.Report(context.Background(), transport.Report{Component: o.Component, Version: o.Version, Event: ev, OK: ok, Reason: reason, OfferID: o.ID, Extra: o.Extra}); err != nil {
		t.Fatalf("Report(%s %s %v) = %v", o.Component, ev, ok, err)
	}
}

func checkFeedback(t *testing.T, srv *hawkbittest.Server, want []string) {
	t.Helper()
	var got []string
	for _, f := range srv.Feedback() {
		s := f.Execution + "/" + f.Finished
		if f.Progress != nil {
			s += " " + itoa(f.Progress[0]) + "/" + itoa(f.Progress[1])
		}
		if f.Cancel {
			s = "cancel " + s
		}
		got = append(got, s)
	}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("feedback =\n %s\nwant\n %s", strings.Join(got, "; "), strings.Join(want, "; "))
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestFailureClosesWithReason(t *testing.T) {
	srv, c := newPair(t)
	srv.Add(twoChunks(7, hawkbittest.Soft))
	offers, err := c.Check(context.Background(), dev)
	if err != nil {
		t.Fatal(err)
	}
	if offers[0].UpgradeType != transport.Prompt {
		t.Errorf("soft action: upgrade type %q, want prompt", offers[0].UpgradeType)
	}
	report(t, c, offers[0], transport.EventInstall, false, "rolled back to slot A")
	report(t, c, offers[1], transport.EventInstall, true, "") // closed: nothing more
	checkFeedback(t, srv, []string{"closed/failure"})
	fb := srv.Feedback()
	if len(fb) != 1 || !strings.Contains(fb[0].Details[0], "rolled back to slot A") {
		t.Errorf("details = %v", fb)
	}
	if srv.State(7) != hawkbittest.Errored {
		t.Errorf("state %s, want ERROR", srv.State(7))
	}
}

func TestStatusCodes(t *testing.T) {
	tests := []struct {
		name       string
		fault      hawkbittest.Fault
		retryable  bool
		retryAfter time.Duration
		msg        string
	}{
		{"401", hawkbittest.Fault{Status: 401}, false, 0, "target_token_file"},
		{"403", hawkbittest.Fault{Status: 403}, false, 0, "DoS filter"},
		{"404", hawkbittest.Fault{Status: 404}, false, 0, "HTTP 404"},
		{"409", hawkbittest.Fault{Status: 409}, true, time.Second, "HTTP 409"},
		{"429", hawkbittest.Fault{Status: 429}, true, time.Second, "HTTP 429"},
		{"429 Retry-After", hawkbittest.Fault{Status: 429, RetryAfter: "7"}, true, 7 * time.Second, "HTTP 429"},
		{"500", hawkbittest.Fault{Status: 500}, true, 0, "HTTP 500"},
		{"503 Retry-After", hawkbittest.Fault{Status: 503, RetryAfter: "120"}, true, 2 * time.Minute, "HTTP 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := newPair(t)
			tt.fault.Match, tt.fault.N = "/controller/v1/dev-1", 1
			srv.Fail(tt.fault)
			_, err := c.Check(context.Background(), dev)
			var te *transport.Error
			if !errors.As(err, &te) {
				t.Fatalf("Check = %v, want *transport.Error", err)
			}
			ra, _ := transport.RetryAfter(err)
			if te.Retryable != tt.retryable || ra != tt.retryAfter || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Check = %v (retryable %v, retry after %v); want retryable %v after %v containing %q", err, te.Retryable, ra, tt.retryable, tt.retryAfter, tt.msg)
			}
			if strings.Contains(err.Error(), "tok-1") {
				t.Errorf("error shows the token: %v", err)
			}
			if _, err := c.Check(context.Background(), dev); err != nil {
				t.Errorf("second Check = %v", err)
			}
		})
	}
}

func TestWrongTokenIs401(t *testing.T) {
	srv := hawkbittest.New(t, "dev-1", "other")
	c := newClient(t, srv, "")
	_, err := c.Check(context.Background(), dev)
	if err == nil || transport.Retryable(err) || !strings.Contains(err.Error(), "HTTP 401") {
		t.Fatalf("Check = %v, want a final 401", err)
	}
}

func TestGatewayToken(t *testing.T) {
	srv := hawkbittest.New(t, "dev-1", "")
	srv.GatewayToken = "gw-secret"
	c, err := hawkbit.New(hawkbit.Config{BaseURL: srv.URL, Tenant: "DEFAULT", ControllerID: "dev-1", GatewayToken: "gw-secret"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Check(context.Background(), dev); err != nil {
		t.Fatalf("Check = %v", err)
	}
	if a := srv.Requests()[0].Auth; a != "GatewayToken gw-secret" {
		t.Errorf("Authorization %q", a)
	}
}

func TestFeedbackRetriesAndGone(t *testing.T) {
	srv, c := newPair(t)
	srv.Add(twoChunks(9, hawkbittest.Forced))
	offers, err := c.Check(context.Background(), dev)
	if err != nil {
		t.Fatal(err)
	}
	srv.Fail(hawkbittest.Fault{Match: "/feedback", Status: 429, N: 1})
	r := transport.Report{Component: "rootfs", Version: "1.2.0", Event: transport.EventInstall, OK: false, Reason: "x", Extra: offers[0].Extra}
	err = c.Report(context.Background(), r)
	if !transport.Retryable(err) {
		t.Fatalf("Report under 429 = %v, want retryable", err)
	}
	if err := c.Report(context.Background(), r); err != nil {
		t.Fatalf("retry = %v", err)
	}
	// A fresh client (restart) with the same state file does not send it again.
	if err := c.Report(context.Background(), r); err != nil {
		t.Fatalf("third = %v", err)
	}
	checkFeedback(t, srv, []string{"closed/failure"})
}

func TestCancel(t *testing.T) {
	for _, armed := range []bool{false, true} {
		t.Run(map[bool]string{false: "before arming", true: "armed"}[armed], func(t *testing.T) {
			srv, c := newPair(t)
			srv.Add(twoChunks(43, hawkbittest.Forced))
			offers, err := c.Check(context.Background(), dev)
			if err != nil {
				t.Fatal(err)
			}
			if armed {
				report(t, c, offers[0], transport.EventDownload, true, "")
			}
			srv.Cancel(43)
			if offers, err := c.Check(context.Background(), dev); err != nil || len(offers) != 0 {
				t.Fatalf("Check after cancel = %v, %v", offers, err)
			}
			if armed {
				checkFeedback(t, srv, []string{"proceeding/none 0/2", "cancel rejected/success"})
				if srv.State(43) != hawkbittest.Running {
					t.Errorf("state %s, want RUNNING", srv.State(43))
				}
				return
			}
			checkFeedback(t, srv, []string{"cancel closed/success"})
			if srv.State(43) != hawkbittest.Canceled {
				t.Errorf("state %s, want CANCELED", srv.State(43))
			}
			if _, err := c.ResolveURL(context.Background(), offers[0]); err == nil {
				t.Errorf("ResolveURL of a canceled action succeeded")
			}
		})
	}
}

func TestCancelDuringDownloadAcknowledged(t *testing.T) {
	srv, c := newPair(t)
	srv.Add(twoChunks(44, hawkbittest.Forced))
	offers, _ := c.Check(context.Background(), dev)
	srv.Cancel(44) // the download then gets 404 and fails
	report(t, c, offers[0], transport.EventDownload, false, "HTTP 404")
	checkFeedback(t, srv, []string{"cancel closed/success"})
}

func TestModes(t *testing.T) {
	tests := []struct {
		name    string
		typ     hawkbittest.Type
		window  hawkbittest.Window
		refused string
		upgrade transport.UpgradeType
	}{
		{"soft", hawkbittest.Soft, hawkbittest.NoWindow, "", transport.Prompt},
		{"forced", hawkbittest.Forced, hawkbittest.NoWindow, "", transport.Forced},
		{"soft window open", hawkbittest.Soft, hawkbittest.WindowOpen, "", transport.Prompt},
		{"forced window open", hawkbittest.Forced, hawkbittest.WindowOpen, "", transport.Forced},
		{"soft window closed", hawkbittest.Soft, hawkbittest.WindowClosed, "maintenance window is closed", transport.Prompt},
		{"forced window closed", hawkbittest.Forced, hawkbittest.WindowClosed, "maintenance window is closed", transport.Prompt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := newPair(t)
			a := twoChunks(5, tt.typ)
			a.Window = tt.window
			srv.Add(a)
			offers, err := c.Check(context.Background(), dev)
			if err != nil || len(offers) != 2 {
				t.Fatalf("Check = %v, %v", offers, err)
			}
			if !strings.Contains(offers[0].Refused, tt.refused) || (tt.refused == "" && offers[0].Refused != "") || offers[0].UpgradeType != tt.upgrade {
				t.Errorf("offer refused %q upgrade %q; want %q, %q", offers[0].Refused, offers[0].UpgradeType, tt.refused, tt.upgrade)
			}
			if tt.window == hawkbittest.WindowClosed {
				srv.SetWindow(5, hawkbittest.WindowOpen)
				offers, _ = c.Check(context.Background(), dev)
				if offers[0].Refused != "" {
					t.Errorf("after the window opened: refused %q", offers[0].Refused)
				}
			}
		})
	}
}

func TestDownloadOnly(t *testing.T) {
	srv, c := newPair(t)
	srv.Add(twoChunks(6, hawkbittest.DownloadOnly))
	offers, err := c.Check(context.Background(), dev)
	if err != nil || len(offers) != 2 || !strings.Contains(offers[0].Refused, "download-only") {
		t.Fatalf("Check = %+v, %v", offers, err)
	}
	wantNoArtifactFetched(t, srv)
	checkFeedback(t, srv, nil) // check changes nothing
	decideAll(t, c, offers)
	decideAll(t, c, offers) // once
	checkFeedback(t, srv, []string{"downloaded/none"})
	if srv.State(6) != hawkbittest.Downloaded {
		t.Errorf("state %s, want DOWNLOADED", srv.State(6))
	}
}

// decideAll tells c the agent skipped every offer, as update does with
// offers the client refused.
func decideAll(t *testing.T, c *hawkbit.Client, offers []transport.Offer) {
	t.Helper()
	for _, o := range offers {
		if err := c.Decided(context.Background(), o, "skip", "turned down by the API client: "+o.Refused); err != nil {
			t.Fatalf("Decided(%s) = %v", o.Component, err)
		}
	}
}

func wantNoArtifactFetched(t *testing.T, srv *hawkbittest.Server) {
	t.Helper()
	for _, r := range srv.Requests() {
		if strings.Contains(r.Path, "/artifacts/") {
			t.Errorf("check fetched %s", r.Path)
		}
	}
}

func TestDownloadOnlyBadSHA1(t *testing.T) {
	srv, c := newPair(t)
	a := twoChunks(6, hawkbittest.DownloadOnly)
	a.Chunks[1].Artifacts[0].BadSHA1 = true
	srv.Add(a)
	offers, err := c.Check(context.Background(), dev)
	if err != nil {
		t.Fatal(err)
	}
	decideAll(t, c, offers)
	fb := srv.Feedback()
	if len(fb) != 1 || fb[0].Finished != "failure" || !strings.Contains(fb[0].Details[0], "sha1") {
		t.Fatalf("feedback = %+v, want closed/failure naming sha1", fb)
	}
}

func TestChunkRefusals(t *testing.T) {
	srv, c := newPair(t)
	a := twoChunks(8, hawkbittest.Forced)
	a.Chunks[0].Artifacts[0].OmitMD5, a.Chunks[0].Artifacts[0].OmitSHA256 = true, true
	a.Chunks[1].Part, a.Chunks[1].Name = "bApp", "app"
	srv.Add(a)
	offers, err := c.Check(context.Background(), dev)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(offers[0].Refused, "sha1 alone") || !strings.Contains(offers[1].Refused, "server.hawkbit.chunks") {
		t.Errorf("refused = %q, %q", offers[0].Refused, offers[1].Refused)
	}
}

func TestAlreadyInstalledCloses(t *testing.T) {
	srv, c := newPair(t)
	srv.Add(twoChunks(11, hawkbittest.Forced))
	d := transport.Device{Versions: map[string]string{"rootfs": "1.2.0", "mcu": "3.4.1"}}
	offers, err := c.Check(context.Background(), d)
	if err != nil || !strings.Contains(offers[0].Refused, "already installed") {
		t.Fatalf("Check = %+v, %v", offers, err)
	}
	checkFeedback(t, srv, []string{"closed/success"})
}

func TestLinksToOtherHostsRefused(t *testing.T) {
	srv, c := newPair(t)
	srv.Add(twoChunks(12, hawkbittest.Forced))
	srv.SetLinkBase("http://evil.example.com")
	_, err := c.Check(context.Background(), dev)
	if err == nil || !strings.Contains(err.Error(), "refusing to send the token") {
		t.Fatalf("Check = %v, want the link refused", err)
	}
	for _, r := range srv.Requests()[1:] {
		t.Errorf("request after the refused link: %+v", r)
	}
}

func TestSchemeDowngradeLinkRefused(t *testing.T) {
	srv, c := newPair(t)
	srv.Add(twoChunks(12, hawkbittest.Forced))
	srv.SetLinkBase(strings.Replace(srv.URL, "http://", "https://", 1))
	_, err := c.Check(context.Background(), dev)
	if err == nil || !strings.Contains(err.Error(), "forward-headers-strategy") {
		t.Fatalf("Check = %v", err)
	}
}

func TestAuthTransportOnlyBaseHost(t *testing.T) {
	srv, c := newPair(t)
	other := hawkbittest.New(t, "x", "y")
	hc := &http.Client{Transport: c.Transport(nil)}
	for _, u := range []string{srv.URL + "/a", other.URL + "/b"} {
		resp, err := hc.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if a := srv.Requests()[0].Auth; a != "TargetToken tok-1" {
		t.Errorf("base host: Authorization %q", a)
	}
	if a := other.Requests()[0].Auth; a != "" {
		t.Errorf("other host got Authorization %q", a)
	}
}
