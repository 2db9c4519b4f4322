package download

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"
)

// TLSConfig is the transport security of [server] (SPEC §4).
type TLSConfig struct {
	InsecureHTTP bool          // allow http:// URLs and redirects to them
	CAFile       string        // extra PEM roots, added to the system roots
	ClientCert   string        // PEM client certificate; needs ClientKey
	ClientKey    string        // PEM private key of ClientCert
	Timeout      time.Duration // whole-request timeout for API calls; 0 = none
}

// maxRedirects bounds redirect chains.
const maxRedirects = 10

// NewHTTPClient returns a client with the system roots plus c.CAFile, the
// client certificate when set, the proxy from the environment
// (HTTPS_PROXY, NO_PROXY), redirects followed only to https (or http when
// c.InsecureHTTP) and http:// refused unless c.InsecureHTTP. The refusal is
// an error wrapping ErrInsecure with a Permanent() method, so
// transport.NetworkError does not retry it.
//
// c.Timeout becomes http.Client.Timeout (API calls) and the dial, TLS
// handshake and response header timeouts. Fetch ignores the whole-request
// timeout and bounds a download by its stall timeout instead.
func NewHTTPClient(c TLSConfig) (*http.Client, error) {
	tc, err := tlsConfig(c)
	if err != nil {
		return nil, err
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = http.ProxyFromEnvironment
	t.TLSClientConfig = tc
	if c.Timeout > 0 {
		t.TLSHandshakeTimeout = c.Timeout
		t.ResponseHeaderTimeout = c.Timeout
	}
	return &http.Client{
		Transport:     &schemeGuard{next: t, insecure: c.InsecureHTTP},
		Timeout:       c.Timeout,
		CheckRedirect: checkRedirect(c.InsecureHTTP),
	}, nil
}

func tlsConfig(c TLSConfig) (*tls.Config, error) {
	// Without ca_file, nil RootCAs makes crypto/tls load the system pool at
	// the first handshake: no cost for plain-http or loopback installs.
	var roots *x509.CertPool
	if c.CAFile != "" {
		var err error
		if roots, err = x509.SystemCertPool(); err != nil || roots == nil {
			roots = x509.NewCertPool()
		}
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("server.ca_file: %w", err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("server.ca_file %s: no PEM certificate found; it must hold one or more \"BEGIN CERTIFICATE\" blocks", c.CAFile)
		}
	}
	tc := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if (c.ClientCert == "") != (c.ClientKey == "") {
		return nil, errors.New("server.client_cert and server.client_key must be set together")
	}
	if c.ClientCert != "" {
		kp, err := tls.LoadX509KeyPair(c.ClientCert, c.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("server.client_cert %s / client_key %s: %w", c.ClientCert, c.ClientKey, err)
		}
		tc.Certificates = []tls.Certificate{kp}
	}
	return tc, nil
}

func checkRedirect(insecure bool) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return &permanentError{fmt.Errorf("more than %d redirects, last to %s", maxRedirects, redact(req.URL.String()))}
		}
		return allowScheme(req, insecure)
	}
}

func allowScheme(req *http.Request, insecure bool) error {
	switch req.URL.Scheme {
	case "https":
		return nil
	case "http":
		if insecure {
			return nil
		}
		return &permanentError{fmt.Errorf("%w: %s; use https or set server.insecure_http = true", ErrInsecure, redact(req.URL.String()))}
	}
	return &permanentError{fmt.Errorf("unsupported url scheme %q in %s; want https", req.URL.Scheme, redact(req.URL.String()))}
}

// schemeGuard refuses http:// requests (first request and redirects alike)
// unless insecure is set.
type schemeGuard struct {
	next     http.RoundTripper
	insecure bool
}

// RoundTrip implements http.RoundTripper.
func (g *schemeGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := allowScheme(req, g.insecure); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	return g.next.RoundTrip(req)
}
