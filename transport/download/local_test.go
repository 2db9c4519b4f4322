package download

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"ota-agent/transport/download/downloadtest"
)

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// noNetwork fails any request LocalFiles passes on.
var noNetwork = roundTripFunc(func(r *http.Request) (*http.Response, error) {
	return nil, fmt.Errorf("request for %s left the local transport", r.URL)
})

// localImage writes c to a file and returns its path.
func localImage(t *testing.T, c downloadtest.Content) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rootfs.ext4")
	if err := os.WriteFile(p, c.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLocalFilesFetch fetches a local file through LocalFiles, the first
// answer cut half-way: Fetch's retry sends `Range: bytes=N-` with
// If-Range, gets the rest, and the destination holds the file; nothing
// leaves the transport.
func TestLocalFilesFetch(t *testing.T) {
	c := downloadtest.Content{Seed: 7, Size: 3<<20 + 123}
	l, u, err := NewLocalFiles(localImage(t, c), ".minisig", noNetwork)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var mu sync.Mutex
	var ranges []string
	o := testOptions(t)
	o.Client = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		ranges = append(ranges, r.Header.Get("Range")+"|"+r.Header.Get("If-Range"))
		first := len(ranges) == 1
		mu.Unlock()
		resp, err := l.RoundTrip(r)
		if first && err == nil {
			resp.Body = io.NopCloser(io.MultiReader(io.LimitReader(resp.Body, c.Size/2), cutReader{}))
		}
		return resp, err
	})}
	m, sh := c.Digests()
	req := Request{URL: u, Size: c.Size, MD5: m, SHA256: sh, Journal: filepath.Join(t.TempDir(), "j")}
	dst := destFile(t)
	if _, err := Fetch(t.Context(), o, req, dst, nil); err != nil {
		t.Fatalf("Fetch with one cut: %v", err)
	}
	checkFile(t, dst, c)
	if len(ranges) != 2 || ranges[0] != "|" || !strings.HasPrefix(ranges[1], "bytes=") || !strings.HasSuffix(ranges[1], "GMT") {
		t.Errorf("requests (Range|If-Range) = %q, want one whole, then a range with the Last-Modified", ranges)
	}
}

// TestLocalFilesAnswers checks each answer: ranges, validators, the
// signature next to the file, other paths and methods, other hosts.
func TestLocalFilesAnswers(t *testing.T) {
	c := downloadtest.Content{Seed: 8, Size: 10000}
	p := localImage(t, c)
	passed := 0
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		passed++
		return respond(r, http.StatusTeapot, 0, nil, nil), nil
	})
	l, u, err := NewLocalFiles(p, ".minisig", next)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fi, _ := os.Stat(p)
	mod := fi.ModTime().UTC().Format(http.TimeFormat)
	full := string(c.Bytes())
	for _, tc := range []struct {
		name, method, url, rng, ifRange string
		code                            int
		body, contentRange              string
	}{
		{"whole", "GET", u, "", "", 200, full, ""},
		{"head", "HEAD", u, "", "", 200, "", ""},
		{"from 4000", "GET", u, "bytes=4000-", "", 206, full[4000:], "bytes 4000-9999/10000"},
		{"from 4000, same validator", "GET", u, "bytes=4000-", mod, 206, full[4000:], "bytes 4000-9999/10000"},
		{"from 4000, file changed", "GET", u, "bytes=4000-", "Mon, 02 Jan 2006 15:04:05 GMT", 200, full, ""},
		{"past the end", "GET", u, "bytes=10000-", "", 416, "", "bytes */10000"},
		{"a closed range is answered whole", "GET", u, "bytes=0-99", "", 200, full, ""},
		{"a suffix range is answered whole", "GET", u, "bytes=-100", "", 200, full, ""},
		{"an overflowing range is answered whole", "GET", u, "bytes=99999999999999999999-", "", 200, full, ""},
		{"no signature yet", "GET", u + ".minisig", "", "", 404, "", ""},
		{"another path", "GET", strings.Replace(u, "rootfs", "other", 1), "", "", 404, "", ""},
		{"the directory above", "GET", u[:strings.LastIndex(u, "/")+1] + "../etc/passwd", "", "", 404, "", ""},
		{"post", "POST", u, "", "", 405, "", ""},
		{"another host", "GET", "http://127.0.0.1:9/x", "", "", http.StatusTeapot, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest(tc.method, tc.url, nil)
			if tc.rng != "" {
				r.Header.Set("Range", tc.rng)
			}
			if tc.ifRange != "" {
				r.Header.Set("If-Range", tc.ifRange)
			}
			resp, err := l.RoundTrip(r)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.code || string(body) != tc.body || resp.Header.Get("Content-Range") != tc.contentRange {
				t.Fatalf("%s %s Range %q: %d, %d bytes, Content-Range %q; want %d, %d bytes, %q",
					tc.method, tc.url, tc.rng, resp.StatusCode, len(body), resp.Header.Get("Content-Range"), tc.code, len(tc.body), tc.contentRange)
			}
			if want := strconv.Itoa(max(len(tc.body), len(full)*btoi(tc.method == "HEAD"))); resp.StatusCode < 300 && resp.Header.Get("Content-Length") != want {
				t.Errorf("Content-Length %q, want %s", resp.Header.Get("Content-Length"), want)
			}
		})
	}
	if passed != 1 {
		t.Errorf("%d requests passed to Next, want 1 (the other host)", passed)
	}
	if err := os.WriteFile(p+".minisig", []byte("untrusted comment: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, _ := http.NewRequest("GET", u+".minisig", nil)
	resp, err := l.RoundTrip(r)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("signature next to the file: %v, %v; want 200", resp, err)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != "untrusted comment: x\n" {
		t.Errorf("signature body %q", b)
	}
}

// cutReader fails as a reset connection does.
type cutReader struct{}

func (cutReader) Read([]byte) (int, error) { return 0, errors.New("connection reset by peer") }

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestLocalFilesURLs: two installs of one file never share a URL, and a
// non-regular file is refused.
func TestLocalFilesURLs(t *testing.T) {
	p := localImage(t, downloadtest.Content{Seed: 9, Size: 10})
	a, ua, err := NewLocalFiles(p, "", noNetwork)
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	b, ub, _ := NewLocalFiles(p, "", noNetwork)
	b.Close()
	if ua == ub || !strings.HasPrefix(ua, "http://"+LocalHost+"/") || !strings.HasSuffix(ua, "/rootfs.ext4") {
		t.Errorf("URLs %s and %s: want two different http://%s/…/rootfs.ext4", ua, ub, LocalHost)
	}
	if _, _, err := NewLocalFiles(filepath.Dir(p), "", noNetwork); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("NewLocalFiles(a directory) = %v, want not a regular file", err)
	}
}

// FuzzParseRangeFrom: parseRangeFrom never panics, and what it accepts is
// exactly the canonical `bytes=N-` of a non-negative N.
func FuzzParseRangeFrom(f *testing.F) {
	for _, s := range []string{"bytes=0-", "bytes=123-", "bytes=-5", "bytes=1-2", "bytes=99999999999999999999-", "items=1-", "bytes= 1-", "bytes=+1-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := parseRangeFrom(s)
		if !ok {
			return
		}
		if n < 0 || strings.TrimLeft(strings.TrimSuffix(strings.TrimPrefix(s, "bytes="), "-"), "0") != strings.TrimLeft(strconv.FormatInt(n, 10), "0") {
			t.Fatalf("parseRangeFrom(%q) = %d, true", s, n)
		}
	})
}
