package akaso_test

import (
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"ota-agent/transport"
	"ota-agent/transport/akaso"
	"ota-agent/transport/akaso/akasotest"
)

// BenchmarkCheckSeed measures one whole Check over loopback against the
// 13-entry seed sample: request, bounded read, decode, pick, offer.
func BenchmarkCheckSeed(b *testing.B) {
	srv := akasotest.NewServer(akasotest.Options{})
	defer srv.Close()
	c := akaso.New(akaso.Config{BaseURL: srv.BaseURL, Language: "EN", Component: "rootfs"})
	b.ReportAllocs()
	for b.Loop() {
		if o, err := c.Check(b.Context(), transport.Device{Model: "Brave8"}); err != nil || len(o) != 1 {
			b.Fatalf("Check = %v, %v", o, err)
		}
	}
}

// BenchmarkDecodeSeed measures decoding the seed sample alone.
func BenchmarkDecodeSeed(b *testing.B) {
	body := readFixture(b, "getVersionList.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := akaso.Decode(body); err != nil {
			b.Fatal(err)
		}
	}
}

// countingTransport counts response bodies opened and closed.
type countingTransport struct{ opened, closed atomic.Int64 }

type countedBody struct {
	io.ReadCloser
	t *countingTransport
}

// Close implements io.Closer, counting the call.
func (b *countedBody) Close() error { b.t.closed.Add(1); return b.ReadCloser.Close() }

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		t.opened.Add(1)
		resp.Body = &countedBody{ReadCloser: resp.Body, t: t}
	}
	return resp, err
}

// TestBodiesClosed: every answer body is closed, good or bad.
func TestBodiesClosed(t *testing.T) {
	srv, _ := newPair(t, akasotest.Options{})
	ct := &countingTransport{}
	c := akaso.New(akaso.Config{BaseURL: srv.BaseURL, Component: "rootfs", Client: &http.Client{Transport: ct}})
	srv.FailNext(akasotest.Answer{Status: 500}, akasotest.Answer{Body: []byte("<html>")},
		akasotest.Answer{Body: make([]byte, transport.MaxBody+10)})
	for range 4 {
		_, _ = c.Check(t.Context(), transport.Device{Model: "Brave8"})
	}
	if ct.opened.Load() != 4 || ct.closed.Load() != 4 {
		t.Errorf("bodies opened %d, closed %d; want 4, 4", ct.opened.Load(), ct.closed.Load())
	}
}
