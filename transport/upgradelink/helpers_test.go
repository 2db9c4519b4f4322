package upgradelink_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// newRedirector starts a TLS server that redirects every request to target.
func newRedirector(t *testing.T, target string) *httptest.Server {
	s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(s.Close)
	return s
}
