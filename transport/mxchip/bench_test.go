package mxchip_test

import (
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"ota-agent/transport"
	"ota-agent/transport/mxchip"
	"ota-agent/transport/mxchip/mxchiptest"
)

// BenchmarkCheckAndReport measures one check (two offers) plus one version
// report over loopback against the fake.
func BenchmarkCheckAndReport(b *testing.B) {
	srv := mxchiptest.NewServer(mxchiptest.Options{})
	defer srv.Close()
	srv.SetFiles(firmware(srv))
	c := mxchip.New(mxchip.Config{BaseURL: srv.URL, ProductID: "p1", Token: srv.Token(), DeviceID: "d", MCUComponent: "mcu", WiFiComponent: "wifi"})
	rep := transport.Report{Event: transport.EventInstall, OK: true, Versions: map[string]string{"mcu": "1.0.1", "wifi": "2.1.0"}}
	b.ReportAllocs()
	for b.Loop() {
		if o, err := c.Check(b.Context(), device); err != nil || len(o) != 2 {
			b.Fatalf("Check = %v, %v", o, err)
		}
		if err := c.Report(b.Context(), rep); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeSeed measures decoding the seed's check answer alone.
func BenchmarkDecodeSeed(b *testing.B) {
	body := readFixture(b, "device.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := mxchip.DecodeCheck(body); err != nil {
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
	srv := mxchiptest.NewServer(mxchiptest.Options{})
	t.Cleanup(srv.Close)
	ct := &countingTransport{}
	cfg := testConfig(t, srv)
	cfg.Client = &http.Client{Transport: ct}
	c := mxchip.New(cfg)
	srv.FailNext(mxchiptest.Answer{Status: 500}, mxchiptest.Answer{Body: []byte("<html>")},
		mxchiptest.Answer{Body: make([]byte, transport.MaxBody+10)}, mxchiptest.Answer{Status: 401})
	for range 5 {
		_, _ = c.Check(t.Context(), device)
	}
	_ = c.Report(t.Context(), transport.Report{Event: transport.EventInstall, OK: true})
	if ct.opened.Load() != 6 || ct.closed.Load() != 6 {
		t.Errorf("bodies opened %d, closed %d; want 6, 6", ct.opened.Load(), ct.closed.Load())
	}
}
