package download

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"

	"ota-agent/transport"
)

// attempt is one HTTP request. It returns nil when the download is complete
// and verified, a backoff.Permanent error when retrying cannot help, and any
// other error for a retry.
func (f *fetcher) attempt(ctx context.Context) (err error) {
	if ctx.Err() != nil { // the time budget ran out before this attempt
		return backoff.Permanent(context.Cause(ctx))
	}
	f.attempts++
	if b := f.budget(); f.j.Fetched >= b {
		return backoff.Permanent(fmt.Errorf("%w: fetched %d bytes, the cap is %.1f × size = %d; the link keeps failing, try again later", ErrBudget, f.j.Fetched, f.o.Budget, b))
	}
	from := f.j.Offset // where this attempt's body starts (moved by a restart)
	f.readAt = from
	defer func() {
		if f.j.Offset-from >= f.minProgress(from) {
			f.bo.progressed()
		}
		if err != nil {
			if cerr := f.afterFailure(); cerr != nil {
				err = fmt.Errorf("%w; then: %w", err, cerr) // one line, both causes
			}
		}
	}()
	u, err := f.resolve(ctx)
	if err != nil {
		return err
	}
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stall := time.AfterFunc(f.o.StallTimeout, func() { cancel(ErrStall) })
	defer stall.Stop()
	hreq, err := f.newRequest(actx, u)
	if err != nil {
		return err
	}
	resp, err := f.o.Client.Do(hreq)
	if err != nil {
		return f.readError(actx, ctx, "request", err)
	}
	defer resp.Body.Close()
	if err := f.accept(resp); err != nil {
		return err
	}
	from, f.readAt = f.j.Offset, f.j.Offset
	f.report(true)
	body, stopRate := f.watchRate(resp.Body, cancel)
	defer stopRate()
	if err := f.copy(actx, ctx, body, stall); err != nil {
		return err
	}
	return f.finish()
}

// afterFailure makes a failed attempt's bytes durable and journaled; with a
// time budget it records the time spent even when no byte came.
func (f *fetcher) afterFailure() error {
	switch {
	case f.finished:
		return nil // the journal is gone for good
	case f.j.Offset > f.synced:
		return f.checkpoint()
	case f.o.TimeBudget > 0:
		return f.saveJournal()
	}
	return nil
}

func (f *fetcher) resolve(ctx context.Context) (string, error) {
	if f.req.Resolve == nil {
		return f.req.URL, nil
	}
	u, err := f.req.Resolve(ctx)
	if err != nil {
		err = fmt.Errorf("resolve download url: %w", err)
		if !transport.Retryable(err) {
			return "", backoff.Permanent(err)
		}
		if d, ok := transport.RetryAfter(err); ok {
			f.bo.retryAfter = d
		}
		return "", err
	}
	f.lastURL = u
	return u, nil
}

func (f *fetcher) newRequest(ctx context.Context, u string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, backoff.Permanent(fmt.Errorf("bad download url %s: %w", redact(u), err))
	}
	// Identity: a transparently gunzipped body would make offsets meaningless.
	req.Header.Set("Accept-Encoding", "identity")
	if f.j.Offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", f.j.Offset))
		if v := f.validator(); v != "" {
			req.Header.Set("If-Range", v)
		}
	}
	return req, nil
}

// validator is the If-Range value: a strong ETag, else Last-Modified.
func (f *fetcher) validator() string {
	if f.j.ETag != "" && !strings.HasPrefix(f.j.ETag, "W/") {
		return f.j.ETag
	}
	return f.j.LastModified
}

// readError classifies a failed request or body read.
func (f *fetcher) readError(actx, ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return backoff.Permanent(fmt.Errorf("%s: %w", what, context.Cause(ctx)))
	}
	if errors.Is(context.Cause(actx), ErrStall) {
		return fmt.Errorf("%s at %d bytes: %w (%s); check the link or raise download.stall_timeout", what, f.readAt, ErrStall, f.o.StallTimeout)
	}
	if c := context.Cause(actx); errors.Is(c, ErrSlow) {
		// Final for this download: a trickle fails in one window, not in
		// max_retries of them. The agent counts it as one attempt and
		// resumes from the journal at the next check.
		return backoff.Permanent(fmt.Errorf("%s at %d bytes: %w", what, f.readAt, c))
	}
	var pe interface{ Permanent() bool }
	if errors.As(err, &pe) && pe.Permanent() {
		return backoff.Permanent(err)
	}
	return fmt.Errorf("%s at %d bytes: %w", what, f.readAt, err)
}

// accept checks the answer's status and range against the journal,
// restarting from zero when the server's file is no longer the one resumed.
func (f *fetcher) accept(resp *http.Response) error {
	switch resp.StatusCode {
	case http.StatusPartialContent:
		return f.acceptPartial(resp)
	case http.StatusOK:
		if f.j.Offset > 0 {
			f.restart(f.why200(resp))
		}
		f.j.ETag, f.j.LastModified = resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
		f.j.Total = max(resp.ContentLength, -1)
		if f.req.Size > 0 && !f.req.SizeIsEstimate && f.j.Total >= 0 && f.j.Total != f.req.Size {
			return backoff.Permanent(fmt.Errorf("%w: server sends %d bytes, the offer says %d", ErrSize, f.j.Total, f.req.Size))
		}
		return f.announcedTooLarge(f.j.Total)
	case http.StatusRequestedRangeNotSatisfiable:
		f.restart(fmt.Sprintf("server refused range from %d (416)", f.j.Offset))
		return errors.New("range not satisfiable (416); retrying from zero")
	case http.StatusForbidden:
		if f.req.Resolve != nil {
			return errors.New("HTTP 403 (presigned url expired?); resolving a new url")
		}
	}
	return f.statusError(resp)
}

func (f *fetcher) why200(resp *http.Response) string {
	switch {
	case f.j.ETag != "" && resp.Header.Get("ETag") != f.j.ETag:
		return fmt.Sprintf("validator changed: etag %s, was %s (the file changed on the server)", resp.Header.Get("ETag"), f.j.ETag)
	case f.j.LastModified != "" && resp.Header.Get("Last-Modified") != f.j.LastModified:
		return fmt.Sprintf("validator changed: last-modified %s, was %s (the file changed on the server)", resp.Header.Get("Last-Modified"), f.j.LastModified)
	case f.j.Total >= 0 && resp.ContentLength >= 0 && resp.ContentLength != f.j.Total:
		return fmt.Sprintf("size changed: content-length %d, was %d (server answered 200 to a range request from %d)", resp.ContentLength, f.j.Total, f.j.Offset)
	}
	return fmt.Sprintf("server answered 200 to a range request from %d (no range support, or the file changed)", f.j.Offset)
}

func (f *fetcher) acceptPartial(resp *http.Response) error {
	if f.j.Offset == 0 {
		return backoff.Permanent(errors.New("server answered 206 to a request without range"))
	}
	cr, err := parseContentRange(resp.Header.Get("Content-Range"))
	var why string
	switch {
	case err != nil:
		why = err.Error()
	case cr.First != f.j.Offset:
		why = fmt.Sprintf("server resumed at %d, asked for %d", cr.First, f.j.Offset)
	case cr.Total >= 0 && f.j.Total >= 0 && cr.Total != f.j.Total:
		why = fmt.Sprintf("size changed: content-range total %d, was %d", cr.Total, f.j.Total)
	case f.j.ETag != "" && resp.Header.Get("ETag") != "" && resp.Header.Get("ETag") != f.j.ETag:
		why = fmt.Sprintf("validator changed: etag %s, was %s", resp.Header.Get("ETag"), f.j.ETag)
	}
	if why != "" {
		f.restart(why)
		return errors.New(why + "; retrying from zero")
	}
	if f.j.Total < 0 {
		f.j.Total = cr.Total
	}
	return f.announcedTooLarge(f.j.Total)
}

func (f *fetcher) statusError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	err := transport.StatusError("download", "get", resp, body)
	if err == nil {
		err = fmt.Errorf("unexpected HTTP %d", resp.StatusCode)
	}
	if !transport.Retryable(err) {
		return backoff.Permanent(fmt.Errorf("%w; the url is wrong or no longer valid", err))
	}
	if d, ok := transport.RetryAfter(err); ok {
		f.bo.retryAfter = d
	}
	return err
}

// copy streams body into dst and the hashes through the pipeline (pipe.go),
// checkpointing every SyncEvery bytes. A write, sync or journal failure is
// final and explains a stopped read.
func (f *fetcher) copy(actx, ctx context.Context, body io.Reader, stall *time.Timer) error {
	p := f.startPipe()
	rerr := f.feed(actx, ctx, p, body, stall)
	if err := p.close(); err != nil {
		return backoff.Permanent(err)
	}
	if rerr != nil {
		return rerr
	}
	if total := f.total(); total >= 0 && f.j.Offset < total {
		return fmt.Errorf("connection closed at %d of %d bytes", f.j.Offset, total)
	}
	return nil
}

// finish syncs dst and checks size and digests. The journal goes either way:
// a mismatch is final and must not be resumed.
func (f *fetcher) finish() error {
	if err := f.dst.Sync(); err != nil {
		return backoff.Permanent(fmt.Errorf("sync destination: %w", err))
	}
	f.synced, f.finished = f.j.Offset, true
	f.report(true)
	r := Result{Size: f.j.Offset, SHA256: hex.EncodeToString(f.h.sha256.Sum(nil))}
	if f.h.md5 != nil {
		r.MD5 = hex.EncodeToString(f.h.md5.Sum(nil))
	}
	err := checkDigests(f.req, r)
	if rerr := removeJournal(f.req.Journal); rerr != nil && err == nil {
		f.log.Warn("cannot remove download journal", "path", f.req.Journal, "err", rerr)
	}
	if err != nil {
		return backoff.Permanent(err)
	}
	f.result = r
	f.log.Info("download verified", "url", redact(f.lastURL), "bytes", r.Size, "attempt", f.attempts)
	return nil
}

func checkDigests(req Request, r Result) error {
	if req.Size > 0 && !req.SizeIsEstimate && r.Size != req.Size {
		return fmt.Errorf("%w: got %d bytes, the offer says %d", ErrSize, r.Size, req.Size)
	}
	if !digestEqual(req.MD5, r.MD5) {
		return &DigestError{Algo: "md5", Want: strings.ToLower(strings.TrimSpace(req.MD5)), Got: r.MD5}
	}
	if !digestEqual(req.SHA256, r.SHA256) {
		return &DigestError{Algo: "sha256", Want: strings.ToLower(strings.TrimSpace(req.SHA256)), Got: r.SHA256}
	}
	return nil
}

// digestEqual compares an expected hex digest (empty = not given) with got,
// ignoring case.
func digestEqual(want, got string) bool {
	want = strings.ToLower(strings.TrimSpace(want))
	return want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}
