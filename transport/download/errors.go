package download

import (
	"errors"
	"fmt"
	"net/url"
)

// Sentinel errors callers may test with errors.Is.
var (
	// ErrStall means no byte arrived for Options.StallTimeout.
	ErrStall = errors.New("no data received within the stall timeout")
	// ErrBudget means the bytes fetched reached Options.Budget × size.
	ErrBudget = errors.New("download budget exhausted")
	// ErrNoSpace means the destination ran out of space.
	ErrNoSpace = errors.New("not enough space")
	// ErrSize means the server sent a different size than the offer says.
	ErrSize = errors.New("size mismatch")
	// ErrInsecure means a plain-http URL or redirect was refused.
	ErrInsecure = errors.New("plain http refused")
	// ErrPackage means a package (zip, manifest, compressed stream) is malformed or hostile.
	ErrPackage = errors.New("bad package")
	// ErrSlow means an attempt's average rate over Options.MinRateWindow
	// fell below Options.MinRate.
	ErrSlow = errors.New("transfer rate below download.min_rate")
	// ErrTimeBudget means one version's download ran longer than
	// Options.TimeBudget, across attempts and restarts.
	ErrTimeBudget = errors.New("download time budget exhausted")
	// ErrMaxSize means a download without an exact size in the offer grew
	// past Options.MaxSize.
	ErrMaxSize = errors.New("download larger than download.max_size")
	// ErrNoProgress means MaxRetries attempts in a row each added less than
	// a meaningful amount (see Options.MaxRetries), or the hard cap on
	// attempts was reached.
	ErrNoProgress = errors.New("no progress")
)

// DigestError means the downloaded bytes do not match the expected digest.
// It is final: the journal is discarded and nothing may be installed.
type DigestError struct {
	Algo      string // "md5" or "sha256"
	Want, Got string // lower-case hex
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("%s mismatch: got %s, want %s; the file on the server is not the one the offer describes", e.Algo, e.Got, e.Want)
}

// Error is a failed download: the URL (without its query string), where it
// stopped, how many attempts were made, and why. Reason gives the one-line
// cause for state and `status`.
type Error struct {
	URL      string // query removed
	Done     int64  // bytes verified-in-place when it stopped
	Total    int64  // expected total, 0 if unknown
	Attempts int
	Err      error
}

func (e *Error) Error() string {
	return fmt.Sprintf("download %s: %d attempt(s), stopped at %d/%d bytes: %v", e.URL, e.Attempts, e.Done, e.Total, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Reason returns the cause of e for state files: the underlying message
// without the URL prefix.
func (e *Error) Reason() string { return e.Err.Error() }

// permanentError marks errors an http.Client must not retry; transport.NetworkError
// looks for the Permanent method.
type permanentError struct{ err error }

func (e *permanentError) Error() string   { return e.err.Error() }
func (e *permanentError) Unwrap() error   { return e.err }
func (e *permanentError) Permanent() bool { return true }

// Redact returns u as it may be logged: see redact.
func Redact(u string) string { return redact(u) }

// redact returns u without its query string and fragment, which for
// presigned URLs (Aliyun OSS) carry signatures that must not reach logs.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable url)"
	}
	if p.RawQuery != "" {
		p.RawQuery = ""
		p.ForceQuery = false
		return p.String() + "?…"
	}
	p.Fragment = ""
	p.User = nil
	return p.String()
}
