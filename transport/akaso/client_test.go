package akaso_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"ota-agent/transport"
	"ota-agent/transport/akaso"
	"ota-agent/transport/akaso/akasotest"
)

func newPair(t *testing.T, opts akasotest.Options) (*akasotest.Server, *akaso.Client) {
	t.Helper()
	srv := akasotest.NewServer(opts)
	t.Cleanup(srv.Close)
	c := akaso.New(akaso.Config{BaseURL: srv.BaseURL, Language: "EN", Component: "rootfs",
		Log: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))})
	return srv, c
}

func check(t *testing.T, c *akaso.Client, model string) []transport.Offer {
	t.Helper()
	got, err := c.Check(t.Context(), transport.Device{Model: model})
	if err != nil {
		t.Fatalf("Check(model %q): %v", model, err)
	}
	return got
}

// TestCheckSeed runs Check for every model of the seed sample through a real
// loopback server and compares the whole offer.
func TestCheckSeed(t *testing.T) {
	srv, c := newPair(t, akasotest.Options{})
	for model, want := range seedOffers {
		t.Run(model, func(t *testing.T) {
			got := check(t, c, model)
			if diff := cmp.Diff([]transport.Offer{want}, got); diff != "" {
				t.Errorf("Check(%q) mismatch (-want +got):\n%s", model, diff)
			}
		})
	}
	reqs := srv.Requests()
	if len(reqs) != len(seedOffers) {
		t.Fatalf("server saw %d requests, want %d", len(reqs), len(seedOffers))
	}
	r := reqs[0]
	if r.RequestURI != "/akaso/version/upgrade/uploadPackage/getVersionList?language=EN" || r.Method != "GET" {
		t.Errorf("request = %s %s, want GET .../getVersionList?language=EN", r.Method, r.RequestURI)
	}
	if got := r.Header.Get("Accept"); got != "application/json" {
		t.Errorf("Accept = %q, want application/json", got)
	}
}

func TestCheckNoMatch(t *testing.T) {
	_, c := newPair(t, akasotest.Options{})
	// Near-duplicates of seed models are different models (seed-apis §1.2).
	for _, model := range []string{"V50 Elite V39", "v50 elite", "V50Elite", "Brave 8", "brave8", "Nope"} {
		if got := check(t, c, model); len(got) != 0 {
			t.Errorf("Check(%q) = %v, want no offers", model, got)
		}
	}
	// Spaces around the configured model are trimmed before the exact match.
	if got := check(t, c, "  Brave8 "); len(got) != 1 || got[0].ID != "2" {
		t.Errorf("Check(\"  Brave8 \") = %v, want the uid 2 offer", got)
	}
}

func TestCheckQuirks(t *testing.T) {
	_, c := newPair(t, akasotest.Options{})
	tests := []struct {
		model string
		check func(o transport.Offer) string
	}{
		{"Brave8", func(o transport.Offer) string { // trailing newline in version_name
			return cmpStr("Version", o.Version, "Brave 8_20231107_Vx.2.4")
		}},
		{"KeyChain", func(o transport.Offer) string { // raw space in src, min == version
			return cmpStr("URL", o.URL, "https://akasogo.s3.amazonaws.com/package/20230217 V2.0.zip") +
				cmpStr("MinVersion", o.MinVersion, "20230217 V2.0")
		}},
		{"V50 Elite V39A", func(o transport.Offer) string { // literal + in src
			return cmpStr("URL", o.URL, "https://akasogo.s3.amazonaws.com/package/V50+Elite+20230425-V3.0.zip")
		}},
		{"Brave7_A1a", func(o transport.Offer) string { // min_version in hyphen style, "13MB"
			return cmpStr("MinVersion", o.MinVersion, "Brave7-20211223-V1.0") + cmpInt("Size", o.Size, 13<<20)
		}},
		{"Brave7_Amba", func(o transport.Offer) string { // uppercase md5, "20.8MB", empty min
			return cmpStr("MD5", o.MD5, "b5e89449beea34f074c5e447cfee3086") + cmpInt("Size", o.Size, 21810381) +
				cmpStr("MinVersion", o.MinVersion, "")
		}},
	}
	for _, tt := range tests {
		got := check(t, c, tt.model)
		if len(got) != 1 {
			t.Fatalf("Check(%q) = %d offers, want 1", tt.model, len(got))
		}
		if msg := tt.check(got[0]); msg != "" {
			t.Errorf("Check(%q): %s", tt.model, msg)
		}
		if !got[0].SizeIsEstimate || got[0].UpgradeType != transport.Default {
			t.Errorf("Check(%q) SizeIsEstimate = %v, UpgradeType = %q; want true, default", tt.model, got[0].SizeIsEstimate, got[0].UpgradeType)
		}
	}
}

func cmpStr(field, got, want string) string {
	if got != want {
		return fmt.Sprintf("%s = %q, want %q ", field, got, want)
	}
	return ""
}

func cmpInt(field string, got, want int64) string {
	if got != want {
		return fmt.Sprintf("%s = %d, want %d ", field, got, want)
	}
	return ""
}

// TestCheckLargestUID: the seed's array is sorted lexically ("10" < "9"), so
// the newest of several entries for one model is found by numeric uid.
func TestCheckLargestUID(t *testing.T) {
	e := func(uid, v string) akasotest.Entry {
		return akasotest.Entry{UID: uid, Model: "Cam", VersionName: v, MD5Check: strings.Repeat("A", 32),
			Src: "https://h/p/" + v + ".zip", FileSize: "1MB"}
	}
	_, c := newPair(t, akasotest.Options{Entries: []akasotest.Entry{e("10", "ten"), e("2", "two"), e("9", "nine"), e(" 011 ", "eleven")}})
	got := check(t, c, "Cam")
	if len(got) != 1 || got[0].Version != "eleven" || got[0].ID != "011" {
		t.Errorf("Check = %+v, want the uid 011 entry", got)
	}
}

// TestSrcVerbatim follows the seed's awkward src values all the way to the
// request line the server receives: a raw space becomes %20, a "+" stays
// "+" (S3 reads it as a space) and the right bytes come back.
func TestSrcVerbatim(t *testing.T) {
	srv, c := newPair(t, akasotest.Options{})
	data := map[string]string{"20230217 V2.0.zip": "keychain", "V50+Elite+20230425-V3.0.zip": "v50", "Brave+8_20231107_Vx.2.4.zip": "brave8"}
	var entries []akasotest.Entry
	for name, body := range data {
		u := srv.AddFile(name, []byte(body))
		entries = append(entries, akasotest.Entry{UID: "1", Model: body, VersionName: body, Src: u, MD5Check: strings.Repeat("0", 32)})
	}
	srv.SetEntries(entries)
	wantURI := map[string]string{"keychain": "/package/20230217%20V2.0.zip", "v50": "/package/V50+Elite+20230425-V3.0.zip", "brave8": "/package/Brave+8_20231107_Vx.2.4.zip"}
	for model, uri := range wantURI {
		o := check(t, c, model)[0]
		if got := fetch(t, o.URL); got != model {
			t.Errorf("GET %q = %q, want %q", o.URL, got, model)
		}
		reqs := srv.Requests()
		if got := reqs[len(reqs)-1].RequestURI; got != uri {
			t.Errorf("server saw %q for src %q, want %q", got, o.URL, uri)
		}
	}
	// Re-escaping "+" as %2B names another S3 key: the fake, like S3, says 404.
	resp, err := http.Get(srv.URL + "/package/V50%2BElite%2B20230425-V3.0.zip")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET with %%2B = %d, want 404", resp.StatusCode)
	}
}

func fetch(t *testing.T, u string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatalf("NewRequest(%q): %v", u, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %q = %d %s", u, resp.StatusCode, b)
	}
	return string(b)
}

func TestFileRange(t *testing.T) {
	srv, _ := newPair(t, akasotest.Options{})
	u := srv.AddFile("a b+c.zip", []byte("0123456789"))
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	req.Header.Set("Range", "bytes=4-")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusPartialContent || string(b) != "456789" || resp.Header.Get("Content-Range") != "bytes 4-9/10" {
		t.Errorf("Range answer = %d %q %q, want 206 \"456789\" \"bytes 4-9/10\"", resp.StatusCode, b, resp.Header.Get("Content-Range"))
	}
}

func TestReportIsNoop(t *testing.T) {
	srv, c := newPair(t, akasotest.Options{})
	if err := c.Report(t.Context(), transport.Report{Event: transport.EventInstall, OK: true}); err != nil {
		t.Errorf("Report = %v, want nil", err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("Report sent %d requests, want 0", n)
	}
}

func TestCheckCancelled(t *testing.T) {
	_, c := newPair(t, akasotest.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := c.Check(ctx, transport.Device{Model: "Brave8"})
	if !errors.Is(err, context.Canceled) || transport.Retryable(err) {
		t.Errorf("Check(cancelled) = %v, retryable %v; want context.Canceled, not retryable", err, transport.Retryable(err))
	}
}
