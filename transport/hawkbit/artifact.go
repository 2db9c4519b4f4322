package hawkbit

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"

	"ota-agent/transport"
)

// Transport returns a RoundTripper that adds this client's Authorization
// header to requests for the base host (hawkBit artifact downloads need
// it) and to no other host, redirects included. next nil means
// http.DefaultTransport. Give it to the download client.
func (c *Client) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &authTransport{c: c, next: next}
}

type authTransport struct {
	c    *Client
	next http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.c.sameHost(req.URL) || req.Header.Get("Authorization") != "" {
		return t.next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", t.c.authorization())
	return t.next.RoundTrip(r)
}

// modeDownloadOnly is Offer.Extra["mode"] of a download-only action's
// chunks: Decided fetches them (from update, never from check).
const modeDownloadOnly = "download-only"

// markDownloadOnly tags the offers the client can fetch.
func markDownloadOnly(offers []transport.Offer) {
	for i := range offers {
		if offers[i].Refused == "" {
			offers[i].Extra["mode"] = modeDownloadOnly
		}
	}
}

// downloadOnly fetches and checks (size, md5, sha1, sha256) one chunk of
// a download-only action, once; when every mapped chunk is fetched,
// downloaded/none closes the action on the server; a bad artifact closes
// it with failure. Nothing is installed.
func (c *Client) downloadOnly(ctx context.Context, act *action, o transport.Offer) error {
	step := "fetched:" + o.Component
	c.mu.Lock()
	done := act.Sent["downloaded"] || act.Sent[step]
	c.mu.Unlock()
	if !done {
		if err := c.fetchVerify(ctx, o); err != nil {
			return c.post(ctx, act, "closed", act.Feedback, feedback("closed", "failure", "download-only: "+err.Error(), nil))
		}
		if err := c.markSent(act, step); err != nil {
			return err
		}
	}
	if n := c.countSent(act, "fetched:"); n < act.Chunks {
		return nil
	}
	return c.post(ctx, act, "downloaded", act.Feedback, feedback("downloaded", "none", fmt.Sprintf("%d artifacts downloaded and verified", act.Chunks), nil))
}

// markSent records a local step of act as done.
func (c *Client) markSent(act *action, step string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	act.Sent[step] = true
	return c.saveLocked()
}

// countSent counts the steps of act starting with prefix.
func (c *Client) countSent(act *action, prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for k, v := range act.Sent {
		if v && strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

// fetchVerify downloads o's artifact into nothing, checking its size and
// every digest it has.
func (c *Client) fetchVerify(ctx context.Context, o transport.Offer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.URL, nil)
	if err != nil {
		return fmt.Errorf("artifact %s: %w", o.Extra["file"], err)
	}
	req.Header.Set("Authorization", c.authorization())
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("artifact %s: %w", o.Extra["file"], err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("artifact %s: HTTP %d, want 200", o.Extra["file"], resp.StatusCode)
	}
	sums := map[string]hash.Hash{"md5": md5.New(), "sha1": sha1.New(), "sha256": sha256.New()}
	w := io.MultiWriter(sums["md5"], sums["sha1"], sums["sha256"])
	got, err := io.Copy(w, io.LimitReader(resp.Body, o.Size+1))
	if err != nil {
		return fmt.Errorf("artifact %s: read after %d bytes: %w", o.Extra["file"], got, err)
	}
	if got != o.Size {
		return fmt.Errorf("artifact %s: %d bytes, want %d", o.Extra["file"], got, o.Size)
	}
	return checkSums(o, sums)
}

// checkSums compares each digest the offer carries, ignoring case.
func checkSums(o transport.Offer, sums map[string]hash.Hash) error {
	for name, want := range map[string]string{"md5": o.MD5, "sha1": o.Extra["sha1"], "sha256": o.SHA256} {
		if want == "" {
			continue
		}
		if got := hex.EncodeToString(sums[name].Sum(nil)); !strings.EqualFold(got, want) {
			return fmt.Errorf("artifact %s: %s %s, want %s", o.Extra["file"], name, got, want)
		}
	}
	return nil
}
