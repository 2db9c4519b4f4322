package download

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ota-agent/transport/download/downloadtest"
)

func writePEM(t *testing.T, name, typ string, der []byte) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func tlsServer(t *testing.T, clientCAs *x509.CertPool) (*downloadtest.Server, string) {
	s := downloadtest.NewUnstarted(downloadtest.Content{Seed: 1, Size: 100 << 10})
	if clientCAs != nil {
		s.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCAs}
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s, writePEM(t, "ca.pem", "CERTIFICATE", s.Certificate().Raw)
}

func fetchWith(t *testing.T, c TLSConfig, url string) error {
	client, err := NewHTTPClient(c)
	if err != nil {
		t.Fatalf("NewHTTPClient: %v", err)
	}
	o := testOptions(t)
	o.Client, o.MaxRetries = client, -1
	_, err = Fetch(t.Context(), o, Request{URL: url}, destFile(t), nil)
	return err
}

func TestTLS(t *testing.T) {
	s, ca := tlsServer(t, nil)
	if err := fetchWith(t, TLSConfig{CAFile: ca}, s.URL+"/fw"); err != nil {
		t.Errorf("with ca_file: %v", err)
	}
	err := fetchWith(t, TLSConfig{}, s.URL+"/fw")
	var ue x509.UnknownAuthorityError
	if !errors.As(err, &ue) {
		t.Errorf("without ca_file: %v, want an unknown authority error", err)
	}
}

func TestPlainHTTPRefused(t *testing.T) {
	plain := downloadtest.New(downloadtest.Content{Seed: 1, Size: 10})
	t.Cleanup(plain.Close)
	if err := fetchWith(t, TLSConfig{}, plain.URL+"/fw"); !errors.Is(err, ErrInsecure) {
		t.Errorf("http without insecure_http: %v, want ErrInsecure", err)
	}
	if plain.Requests() != 0 {
		t.Errorf("server saw %d requests, want none", plain.Requests())
	}
	if err := fetchWith(t, TLSConfig{InsecureHTTP: true}, plain.URL+"/fw"); err != nil {
		t.Errorf("http with insecure_http: %v", err)
	}
	// A https server redirecting to http: refused unless allowed.
	tlsSrv := httptestRedirect(t, plain.URL+"/fw")
	ca := writePEM(t, "ca.pem", "CERTIFICATE", tlsSrv.Certificate().Raw)
	if err := fetchWith(t, TLSConfig{CAFile: ca}, tlsSrv.URL); !errors.Is(err, ErrInsecure) {
		t.Errorf("redirect to http: %v, want ErrInsecure", err)
	}
	if err := fetchWith(t, TLSConfig{CAFile: ca, InsecureHTTP: true}, tlsSrv.URL); err != nil {
		t.Errorf("redirect to http with insecure_http: %v", err)
	}
}

func httptestRedirect(t *testing.T, to string) *downloadtest.Server {
	s := downloadtest.NewUnstarted(downloadtest.Content{})
	s.Config.Handler = http.RedirectHandler(to, http.StatusFound)
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func TestClientCert(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cam-0001"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	s, ca := tlsServer(t, pool)
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := writePEM(t, "client.pem", "CERTIFICATE", der), writePEM(t, "client.key", "EC PRIVATE KEY", kder)
	if err := fetchWith(t, TLSConfig{CAFile: ca, ClientCert: certFile, ClientKey: keyFile}, s.URL+"/fw"); err != nil {
		t.Errorf("with client cert: %v", err)
	}
	if err := fetchWith(t, TLSConfig{CAFile: ca}, s.URL+"/fw"); err == nil {
		t.Error("without client cert: succeeded, want the server to refuse")
	}
}

func TestNewHTTPClientErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.pem")
	os.WriteFile(bad, []byte("not pem"), 0o600)
	for _, c := range []TLSConfig{
		{CAFile: "/nonexistent/ca.pem"},
		{CAFile: bad},
		{ClientCert: bad},
		{ClientCert: bad, ClientKey: bad},
	} {
		if _, err := NewHTTPClient(c); err == nil {
			t.Errorf("NewHTTPClient(%+v) succeeded, want an error", c)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("multi-line error %q", err)
		}
	}
}

func TestProxyFromEnvironment(t *testing.T) {
	c, err := NewHTTPClient(TLSConfig{})
	if err != nil {
		t.Fatal(err)
	}
	tr := c.Transport.(*schemeGuard).next.(*http.Transport)
	if tr.Proxy == nil {
		t.Fatal("no proxy function; want http.ProxyFromEnvironment")
	}
}

func TestRedactQuery(t *testing.T) {
	got := redact("https://bucket.oss.example.com/fw.bin?Signature=secret&Expires=1")
	if strings.Contains(got, "secret") {
		t.Errorf("redact kept the signature: %s", got)
	}
}
