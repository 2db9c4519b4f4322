package download

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ota-agent/transport/download/downloadtest"
)

func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// testOptions are short bounds so that every fault ends quickly.
func testOptions(t testing.TB) Options {
	c, err := NewHTTPClient(TLSConfig{InsecureHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	return Options{Client: c, StallTimeout: 300 * time.Millisecond, MaxRetries: 3, SyncEvery: 64 << 10, MinSyncGap: -1,
		MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, Log: testLog(t)}
}

func newServer(t testing.TB, size int64) (*downloadtest.Server, Request) {
	c := downloadtest.Content{Seed: 42, Size: size}
	s := downloadtest.New(c)
	t.Cleanup(s.Close)
	m, sh := c.Digests()
	return s, Request{URL: s.URL + "/fw.bin", Size: size, MD5: strings.ToUpper(m), SHA256: sh,
		Journal: filepath.Join(t.TempDir(), "fw.journal")}
}

func destFile(t testing.TB) *os.File {
	f, err := os.Create(filepath.Join(t.TempDir(), "dest"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func checkFile(t *testing.T, f *os.File, c downloadtest.Content) {
	t.Helper()
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	got = got[:min(int64(len(got)), c.Size)]
	if string(got) != string(c.Bytes()) {
		t.Fatalf("destination differs from the served file (%d bytes)", len(got))
	}
}

func TestFetchFaults(t *testing.T) {
	const size = 1 << 20
	tests := []struct {
		name    string
		faults  []downloadtest.Fault
		always  downloadtest.Fault
		corrupt bool
		wantErr error // nil = verified result
		maxReq  int64 // requests the server may see
	}{
		{name: "clean", maxReq: 1},
		{name: "cut once", faults: []downloadtest.Fault{{Kind: downloadtest.Cut, N: 300 << 10}}, maxReq: 2},
		{name: "cut every time after progress", always: downloadtest.Fault{Kind: downloadtest.Cut, N: 200 << 10}, maxReq: 7},
		{name: "cut every time before a byte", always: downloadtest.Fault{Kind: downloadtest.Cut, N: 0}, wantErr: errAny, maxReq: 4},
		{name: "stall once", faults: []downloadtest.Fault{{Kind: downloadtest.Stall, N: 100 << 10}}, maxReq: 2},
		{name: "stall always", always: downloadtest.Fault{Kind: downloadtest.Stall, N: 0}, wantErr: ErrStall, maxReq: 4},
		{name: "200 instead of 206", faults: []downloadtest.Fault{{Kind: downloadtest.Cut, N: 500 << 10}, {Whole: true}}, maxReq: 2},
		{name: "file changed", faults: []downloadtest.Fault{{Kind: downloadtest.Cut, N: 500 << 10}, {Kind: downloadtest.Change}}, wantErr: &DigestError{}, maxReq: 2},
		{name: "corrupted byte", corrupt: true, wantErr: &DigestError{}, maxReq: 1},
		{name: "503 retry-after", faults: []downloadtest.Fault{{Kind: downloadtest.Status, Status: 503, RetryAfter: "1"}}, maxReq: 2},
		{name: "429", faults: []downloadtest.Fault{{Kind: downloadtest.Status, Status: 429}, {Kind: downloadtest.Status, Status: 429}}, maxReq: 3},
		{name: "408", faults: []downloadtest.Fault{{Kind: downloadtest.Status, Status: 408}}, maxReq: 2},
		{name: "404 final", faults: []downloadtest.Fault{{Kind: downloadtest.Status, Status: 404}}, wantErr: errAny, maxReq: 1},
		{name: "500 always", always: downloadtest.Fault{Kind: downloadtest.Status, Status: 500}, wantErr: errAny, maxReq: 4},
		{name: "cut and 200 every time", always: downloadtest.Fault{Kind: downloadtest.Cut, N: 900 << 10, Whole: true}, wantErr: ErrBudget, maxReq: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, req := newServer(t, size)
			s.Push(tt.faults...)
			s.Always(tt.always)
			if tt.corrupt {
				s.Corrupt(size / 2)
			}
			dst := destFile(t)
			var calls int
			res, err := Fetch(t.Context(), testOptions(t), req, dst, func(done, total int64) { calls++ })
			checkOutcome(t, err, tt.wantErr)
			if n := s.Requests(); n > tt.maxReq {
				t.Errorf("server saw %d requests, want at most %d", n, tt.maxReq)
			}
			if tt.wantErr != nil {
				return
			}
			if res.Size != size || res.SHA256 != req.SHA256 || !strings.EqualFold(res.MD5, req.MD5) {
				t.Errorf("Result = %+v, want size %d and the request's digests", res, size)
			}
			checkFile(t, dst, s.Content())
			if calls == 0 {
				t.Error("progress never called")
			}
			if _, err := os.Stat(req.Journal); !os.IsNotExist(err) {
				t.Errorf("journal left behind after success: %v", err)
			}
		})
	}
}

var errAny = errors.New("any error")

func checkOutcome(t *testing.T, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("Fetch: %v, want success", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("Fetch succeeded, want error %v", want)
	}
	var de *DigestError
	var fe *Error
	switch {
	case !errors.As(err, &fe):
		t.Errorf("error %T is not *Error: %v", err, err)
	case want == errAny:
	case errors.As(want, &de):
		if !errors.As(err, &de) {
			t.Errorf("error = %v, want a *DigestError", err)
		}
	case !errors.Is(err, want):
		t.Errorf("error = %v, want %v", err, want)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans lines: %q", err)
	}
	t.Logf("error (as reported): %v", err)
}
