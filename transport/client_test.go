package transport_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"ota-agent/transport"
	"ota-agent/transport/akaso"
	"ota-agent/transport/mxchip"
)

// TestHTTPClient: nil gets a timeout and the redirect guard, never
// http.DefaultClient; a given client is copied, its own CheckRedirect kept.
func TestHTTPClient(t *testing.T) {
	c := transport.HTTPClient(nil)
	if c == http.DefaultClient || c.Timeout != transport.DefaultAPITimeout || c.CheckRedirect == nil {
		t.Errorf("HTTPClient(nil) = %+v, want a new client with a %v timeout and a CheckRedirect", c, transport.DefaultAPITimeout)
	}
	given := &http.Client{Timeout: 5}
	if c := transport.HTTPClient(given); c == given || c.CheckRedirect == nil || c.Timeout != 5 || given.CheckRedirect != nil {
		t.Errorf("HTTPClient(given) = %+v (given now %+v), want a copy with the guard, given unchanged", c, given)
	}
	own := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if c := transport.HTTPClient(&http.Client{CheckRedirect: own}); c.CheckRedirect == nil || c.CheckRedirect(nil, nil) != http.ErrUseLastResponse {
		t.Error("HTTPClient dropped the caller's own CheckRedirect")
	}
}

// TestAPIClientsRefuseDowngrade: AKASO and MXChip, given a client with no
// redirect policy (as the demo and tests do), refuse an https→http
// redirect as the other two APIs do, instead of following it.
func TestAPIClientsRefuseDowngrade(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("plain http server reached: %s", r.URL)
	}))
	t.Cleanup(plain.Close)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+r.URL.RequestURI(), http.StatusFound)
	}))
	t.Cleanup(tlsSrv.Close)
	apis := map[string]transport.API{
		"akaso":  akaso.New(akaso.Config{BaseURL: tlsSrv.URL, Model: "Cam", Component: "rootfs", Client: tlsSrv.Client()}),
		"mxchip": mxchip.New(mxchip.Config{BaseURL: tlsSrv.URL, ProductID: "p", Token: "t", MCUComponent: "mcu", Client: tlsSrv.Client()}),
	}
	for name, api := range apis {
		_, err := api.Check(t.Context(), transport.Device{Versions: map[string]string{"mcu": "1"}})
		if err == nil || !strings.Contains(err.Error(), "refusing redirect from https to plain http") || transport.Retryable(err) {
			t.Errorf("%s Check through an https→http redirect = %v, want a final refusal", name, err)
		}
	}
}
