package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"ota-agent/platform/printable"
)

// MaxBody is the most an API answer may hold. A server that sends more (a
// misrouted download, an HTML error page gone wild) gets a clear error
// instead of filling the device's memory.
const MaxBody = 1 << 20

// ReadBody reads at most MaxBody bytes of resp's body and closes it.
func ReadBody(api, op string, resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return nil, &Error{API: api, Op: op, Status: resp.StatusCode, Msg: "reading answer", Retryable: true, Err: err}
	}
	if len(b) > MaxBody {
		return nil, &Error{API: api, Op: op, Status: resp.StatusCode, Msg: fmt.Sprintf("answer larger than %d bytes; check server.base_url points at the API, not a file", MaxBody)}
	}
	return b, nil
}

// StatusError returns nil for a 2xx answer and otherwise an *Error that is
// retryable for 408, 429 and 5xx (with Retry-After) and final for the rest.
// body is the answer already read, quoted briefly in the message.
func StatusError(api, op string, resp *http.Response, body []byte) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	e := &Error{API: api, Op: op, Status: resp.StatusCode, Msg: Snippet(body)}
	switch {
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		e.Retryable = true
		e.RetryAfter = ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return e
}

// NetworkError wraps an error from http.Client.Do: retryable unless the
// context was cancelled or the request was refused by policy (a redirect to
// plain http, a bad URL).
func NetworkError(api, op string, err error) error {
	retry := !errors.Is(err, context.Canceled)
	var pe interface{ Permanent() bool }
	if errors.As(err, &pe) && pe.Permanent() {
		retry = false
	}
	return &Error{API: api, Op: op, Retryable: retry, Err: err}
}

// ParseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
// It returns 0 when absent or malformed.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// Snippet returns the start of an answer for an error message: white space
// folded to single spaces, control characters and invalid UTF-8 escaped
// (printable.String), at most 120 characters.
func Snippet(b []byte) string {
	return printable.Clip(strings.Join(strings.Fields(string(b)), " "), 120)
}

// DescribeJSON names the JSON type of a non-empty answer for an error
// message ("a JSON object", "an HTML page", …); empty input gives "".
func DescribeJSON(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return ""
	}
	switch c := b[0]; {
	case c == '{':
		return "a JSON object"
	case c == '[':
		return "a JSON array"
	case c == '"':
		return "a JSON string"
	case c == 't' || c == 'f':
		return "a JSON boolean"
	case c == 'n':
		return "JSON null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a JSON number"
	case c == '<':
		return "an HTML page"
	}
	return "text that is not JSON"
}

// DefaultAPITimeout bounds one API call of the client HTTPClient(nil) builds.
const DefaultAPITimeout = 60 * time.Second

// HTTPClient returns the client an API package uses for hc, the one place
// every API client gets its HTTP client from. For nil it builds one with
// DefaultAPITimeout, RefuseDowngrade and Go's default transport (system
// roots, TLS 1.2 or later, proxy from the environment); http.DefaultClient,
// with no timeout and no redirect policy, is never used. A given client is
// copied (the caller's is not changed) and gets RefuseDowngrade when it has
// no CheckRedirect of its own. The agent passes the client of
// download.NewHTTPClient (server.timeout, ca_file, client certificate, the
// plain-http guard).
func HTTPClient(hc *http.Client) *http.Client {
	c := &http.Client{Timeout: DefaultAPITimeout}
	if hc != nil {
		cp := *hc
		c = &cp
	}
	if c.CheckRedirect == nil {
		c.CheckRedirect = RefuseDowngrade
	}
	return c
}

// downgradeError refuses a redirect from https to plain http. It is
// permanent: retrying gets the same redirect.
type downgradeError struct{ to string }

func (e *downgradeError) Error() string {
	return "refusing redirect from https to plain http (" + e.to + "); fix the configured URL or the server"
}

// Permanent tells NetworkError not to retry.
func (e *downgradeError) Permanent() bool { return true }

// RefuseDowngrade is an http.Client CheckRedirect that stops after 10
// redirects and refuses one from https to plain http, for API clients given
// a client without a redirect policy of its own.
func RefuseDowngrade(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return &downgradeError{to: req.URL.Redacted()}
	}
	return nil
}
