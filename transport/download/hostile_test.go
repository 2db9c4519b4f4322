package download

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"ota-agent/transport/download/downloadtest"
)

// Hostile-server and hostile-disk cases for the download engine (issue 13,
// items 4 and 5). Each asserts the exact outcome: error kind and text, bytes
// the server sent, the destination's content and a generous bound on the
// time to the verdict (machines running the suite are noisy).

// logBuf collects a Fetch's log lines (and echoes them to the test output).
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
	out io.Writer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	return l.out.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// capture points o's log at a new logBuf.
func capture(t *testing.T, o *Options) *logBuf {
	l := &logBuf{out: t.Output()}
	o.Log = slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return l
}

// timed runs Fetch and returns its duration and error.
func timed(ctx context.Context, o Options, req Request, dst Dest) (time.Duration, error) {
	t0 := time.Now()
	_, err := Fetch(ctx, o, req, dst, nil)
	return time.Since(t0), err
}

func within(t *testing.T, what string, d, lo, hi time.Duration) {
	t.Helper()
	if d < lo || d > hi {
		t.Errorf("%s took %v, want between %v and %v", what, d, lo, hi)
	}
}

func wantIs(t *testing.T, err, want error) {
	t.Helper()
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("error = %v (%T), want an *Error wrapping %v", err, err, want)
	}
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans lines: %q", err)
	}
}

func wantMatch(t *testing.T, err error, re string) {
	t.Helper()
	if err == nil || !regexp.MustCompile(re).MatchString(err.Error()) {
		t.Errorf("error = %v, want it to match %q", err, re)
	}
}

// writeOnly hides a file's ReadAt: a Dest the engine cannot read back.
type writeOnly struct{ f *os.File }

func (w writeOnly) WriteAt(p []byte, off int64) (int, error) { return w.f.WriteAt(p, off) }
func (w writeOnly) Sync() error                              { return w.f.Sync() }

// TestHostileTrickle: a server sending 1 byte per second never trips the
// stall timer; the minimum rate ends each attempt after about one window.
func TestHostileTrickle(t *testing.T) {
	t.Run("one attempt", func(t *testing.T) {
		s, req := newServer(t, 1<<20)
		s.SetRate(1)
		o := testOptions(t)
		o.StallTimeout, o.MaxRetries = 5*time.Second, -1
		o.MinRate, o.MinRateWindow = 1<<10, time.Second
		ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
		defer cancel()
		d, err := timed(ctx, o, req, destFile(t))
		wantIs(t, err, ErrSlow)
		wantMatch(t, err, `transfer rate [0-9] B/s over the last 1s is below download\.min_rate 1KiB/s; check the link or lower download\.min_rate`)
		within(t, "verdict", d, 900*time.Millisecond, 5*time.Second)
		if n := s.Served(); n > 5 {
			t.Errorf("server sent %d bytes, want at most 5", n)
		}
		t.Logf("verdict after %v, %d bytes sent: %v", d, s.Served(), err)
	})
	t.Run("retries do not apply", func(t *testing.T) {
		s, req := newServer(t, 1<<20)
		s.SetRate(1)
		o := testOptions(t)
		o.StallTimeout, o.MaxRetries = 5*time.Second, 2
		o.MinRate, o.MinRateWindow = 1<<10, 500*time.Millisecond
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		d, err := timed(ctx, o, req, destFile(t))
		wantIs(t, err, ErrSlow)
		wantMatch(t, err, `transfer rate [0-9] B/s over the last 500ms is below download\.min_rate 1KiB/s`)
		if n := s.Requests(); n != 1 {
			t.Errorf("server saw %d requests, want 1 (a trickle ends the download in one window)", n)
		}
		within(t, "verdict", d, 400*time.Millisecond, 5*time.Second)
		t.Logf("verdict after %v, %d requests, %d bytes sent: %v", d, s.Requests(), s.Served(), err)
	})
	t.Run("off", func(t *testing.T) {
		// MinRate 0 turns the check off: a slow but steady download finishes.
		s, req := newServer(t, 64<<10)
		s.SetRate(128 << 10)
		o := testOptions(t)
		o.MinRateWindow = 100 * time.Millisecond
		dst := destFile(t)
		if _, err := Fetch(t.Context(), o, req, dst, nil); err != nil {
			t.Fatal(err)
		}
		checkFile(t, dst, s.Content())
	})
}

// TestHostileResetEvery1000: a server that drops the connection after 1000
// bytes every time "progresses" on each attempt; only attempts that add a
// meaningful amount count, so MaxRetries ends it.
func TestHostileResetEvery1000(t *testing.T) {
	const size = 4 << 20
	s, req := newServer(t, size)
	s.Always(downloadtest.Fault{Kind: downloadtest.Cut, N: 1000})
	o := testOptions(t) // MaxRetries 3, backoff 1-10 ms
	d, err := timed(t.Context(), o, req, destFile(t))
	wantIs(t, err, ErrNoProgress)
	wantMatch(t, err, `^download http://127\.0\.0\.1:[0-9]+/fw\.bin: 4 attempt\(s\), stopped at 4000/4194304 bytes: no progress: 4 attempts in a row each fetched less than 256KiB \(last: read body at 4000 bytes: unexpected EOF\); the server or the link keeps failing, try again later$`)
	if n := s.Requests(); n != 4 {
		t.Errorf("server saw %d requests, want 4", n)
	}
	if n := s.Served(); n != 4000 {
		t.Errorf("server sent %d bytes, want 4000", n)
	}
	within(t, "verdict", d, 0, 5*time.Second)
	t.Logf("verdict after %v, %d requests, %d bytes sent", d, s.Requests(), s.Served())
}

// TestHostileEndlessNoSize: with no size in the offer, a chunked body that
// never ends is cut at MaxSize, and a server announcing more is refused
// before the body.
func TestHostileEndlessNoSize(t *testing.T) {
	const maxSize = 1 << 20
	t.Run("endless", func(t *testing.T) {
		s, req := newServer(t, 256<<10)
		s.Always(downloadtest.Fault{Kind: downloadtest.Endless})
		s.SetRate(32 << 20) // keeps a broken engine from filling the disk before the timeout
		s.SetSendBuffer(64 << 10)
		req.Size, req.MD5, req.SHA256 = 0, "", ""
		o := testOptions(t)
		o.MaxSize = maxSize
		dst := destFile(t)
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		d, err := timed(ctx, o, req, dst)
		wantIs(t, err, ErrMaxSize)
		wantMatch(t, err, `stopped at 1048576/0 bytes: download larger than download\.max_size: the server sent more than 1MiB and the offer gives no size \(an endless stream\?\); raise download\.max_size if the image really is that large$`)
		st, _ := dst.Stat()
		if st.Size() > maxSize {
			t.Errorf("destination holds %d bytes, want at most %d", st.Size(), maxSize)
		}
		if n := s.Requests(); n != 1 {
			t.Errorf("server saw %d requests, want 1 (the cap is final)", n)
		}
		// Slack: socket buffers on both ends and the client's read buffer.
		if n := s.Served(); n > maxSize+4<<20 {
			t.Errorf("server sent %d bytes, want at most MaxSize + 4MiB", n)
		}
		within(t, "verdict", d, 0, 4*time.Second)
		t.Logf("verdict after %v, %d bytes sent, %d on disk", d, s.Served(), st.Size())
	})
	t.Run("announced too large", func(t *testing.T) {
		s, req := newServer(t, 2<<20)
		req.Size = 0
		o := testOptions(t)
		o.MaxSize = maxSize
		dst := destFile(t)
		d, err := timed(t.Context(), o, req, dst)
		wantIs(t, err, ErrMaxSize)
		wantMatch(t, err, `download larger than download\.max_size: the server announces 2097152 bytes, over 1MiB, and the offer gives no size; raise download\.max_size if the image really is that large$`)
		if st, _ := dst.Stat(); st.Size() != 0 {
			t.Errorf("destination holds %d bytes, want 0", st.Size())
		}
		if n := s.Requests(); n != 1 {
			t.Errorf("server saw %d requests, want 1", n)
		}
		t.Logf("verdict after %v, %d bytes sent", d, s.Served())
	})
	t.Run("budget from max size", func(t *testing.T) {
		// With no size the byte budget is Budget × MaxSize.
		s, req := newServer(t, 256<<10)
		s.Always(downloadtest.Fault{Kind: downloadtest.Endless})
		s.SetRate(32 << 20)
		req.Size, req.MD5, req.SHA256 = 0, "", ""
		o := testOptions(t)
		o.MaxSize, o.Budget = maxSize, 0.5
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err := timed(ctx, o, req, destFile(t))
		wantIs(t, err, ErrBudget)
		wantMatch(t, err, `cap is 0\.5 × size = 524288`)
	})
}

// TestHostile200ForRange: a server that ignores Range after a cut sends the
// whole file again; the engine restarts from zero and ends with the right
// bytes.
func TestHostile200ForRange(t *testing.T) {
	const size, cut = 1 << 20, 300 << 10
	s, req := newServer(t, size)
	s.Push(downloadtest.Fault{Kind: downloadtest.Cut, N: cut}, downloadtest.Fault{Whole: true})
	o := testOptions(t)
	l := capture(t, &o)
	dst := destFile(t)
	d, err := timed(t.Context(), o, req, dst)
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, dst, s.Content())
	if n := s.Served(); n != cut+size {
		t.Errorf("server sent %d bytes, want %d (the cut, then the whole file)", n, cut+size)
	}
	if r := s.Ranges(); len(r) != 2 || r[0] != "" || r[1] != fmt.Sprintf("bytes=%d-", cut) {
		t.Errorf("ranges = %q, want [\"\" \"bytes=%d-\"]", r, cut)
	}
	if !strings.Contains(l.String(), "server answered 200 to a range request from 307200") {
		t.Error("log does not say why the download restarted")
	}
	t.Logf("verified after %v, %d bytes sent", d, s.Served())
}

// TestHostileSizeChanges: the size changing between attempts (same ETag)
// restarts from zero; against an exact offer size it then fails.
func TestHostileSizeChanges(t *testing.T) {
	const size, cut = 1 << 20, 300 << 10
	t.Run("content-range total", func(t *testing.T) {
		s, req := newServer(t, size)
		s.Push(downloadtest.Fault{Kind: downloadtest.Cut, N: cut}, downloadtest.Fault{Kind: downloadtest.Resize, N: 2 << 20})
		o := testOptions(t)
		l := capture(t, &o)
		_, err := timed(t.Context(), o, req, destFile(t))
		wantIs(t, err, ErrSize)
		wantMatch(t, err, `size mismatch: server sends 2097152 bytes, the offer says 1048576$`)
		if !strings.Contains(l.String(), "size changed: content-range total 2097152, was 1048576") {
			t.Error("log does not say the size changed")
		}
		if r := s.Ranges(); len(r) != 3 || r[1] != fmt.Sprintf("bytes=%d-", cut) || r[2] != "" {
			t.Errorf("ranges = %q, want a range request then one from zero", r)
		}
	})
	t.Run("content-length of a 200", func(t *testing.T) {
		s, req := newServer(t, size)
		s.Push(downloadtest.Fault{Kind: downloadtest.Cut, N: cut}, downloadtest.Fault{Kind: downloadtest.Resize, N: 2 << 20, Whole: true})
		o := testOptions(t)
		l := capture(t, &o)
		_, err := timed(t.Context(), o, req, destFile(t))
		wantIs(t, err, ErrSize)
		if !strings.Contains(l.String(), "size changed: content-length 2097152, was 1048576") {
			t.Error("log does not say the size changed")
		}
		if n := s.Requests(); n != 2 {
			t.Errorf("server saw %d requests, want 2", n)
		}
	})
	t.Run("no size in the offer", func(t *testing.T) {
		// The new file is fetched from zero; the offer's digests are the old
		// file's, so it is refused.
		s, req := newServer(t, size)
		s.SetSendBuffer(64 << 10)
		s.Push(downloadtest.Fault{Kind: downloadtest.Cut, N: cut}, downloadtest.Fault{Kind: downloadtest.Resize, N: 2 << 20})
		req.Size = 0
		o := testOptions(t)
		dst := destFile(t)
		_, err := Fetch(t.Context(), o, req, dst, nil)
		var de *DigestError
		if !errors.As(err, &de) {
			t.Fatalf("error = %v, want a DigestError", err)
		}
		if n := s.Served(); n < cut+2<<20 || n > cut+2<<20+1<<20 {
			t.Errorf("server sent %d bytes, want the cut plus the new file (+ at most 1MiB of an abandoned answer)", n)
		}
		if st, _ := dst.Stat(); st.Size() != 2<<20 {
			t.Errorf("destination holds %d bytes, want the new file's 2MiB", st.Size())
		}
	})
}

// partial downloads about half of req into dst and returns the journal.
func partial(t *testing.T, s *downloadtest.Server, req Request, dst Dest) *journal {
	t.Helper()
	s.SetRate(8 << 20)
	defer s.SetRate(0)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, err := Fetch(ctx, testOptions(t), req, dst, func(done, total int64) {
		if done > req.Size/2 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first Fetch = %v, want context.Canceled", err)
	}
	j, err := loadJournal(req.Journal)
	if err != nil || j == nil || j.Offset == 0 {
		t.Fatalf("journal after cancel = %+v, %v; want a positive offset", j, err)
	}
	return j
}

// TestHostileResumeAlteredPrefix: the staged prefix altered or truncated
// between a kill and the resume is detected by re-hashing it; the download
// restarts from zero and ends with the right bytes.
func TestHostileResumeAlteredPrefix(t *testing.T) {
	const size = 4 << 20
	for _, tt := range []struct {
		name  string
		alter func(f *os.File, off int64) error
		from  bool // resumes (no alteration)
	}{
		{name: "byte flipped", alter: func(f *os.File, off int64) error {
			b := make([]byte, 1)
			f.ReadAt(b, off/2)
			b[0] ^= 0xff
			_, err := f.WriteAt(b, off/2)
			return err
		}},
		{name: "truncated", alter: func(f *os.File, off int64) error { return f.Truncate(off / 2) }},
		{name: "unchanged", alter: func(*os.File, int64) error { return nil }, from: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, req := newServer(t, size)
			dst := destFile(t)
			j := partial(t, s, req, dst)
			if err := tt.alter(dst, j.Offset); err != nil {
				t.Fatal(err)
			}
			before := s.Served()
			o := testOptions(t)
			l := capture(t, &o)
			d, err := timed(t.Context(), o, req, dst)
			if err != nil {
				t.Fatalf("resumed Fetch: %v", err)
			}
			checkFile(t, dst, s.Content())
			r := s.Ranges()
			last, sent := r[len(r)-1], s.Served()-before
			said := strings.Contains(l.String(), "staged prefix changed on disk since the journal was written")
			if tt.from {
				if last != fmt.Sprintf("bytes=%d-", j.Offset) || sent != size-j.Offset || said {
					t.Errorf("unchanged prefix: last range %q, %d bytes sent, warned %v; want bytes=%d-, %d, false", last, sent, said, j.Offset, size-j.Offset)
				}
				return
			}
			if last != "" || sent != size || !said {
				t.Errorf("altered prefix: last range %q, %d bytes sent, warned %v; want a request from zero, %d bytes, a warning", last, sent, said, size)
			}
			t.Logf("journal at %d; verified after %v with %d bytes sent again", j.Offset, d, sent)
		})
	}
}

// TestHostileJournalAheadOfHash: a journal whose offset is ahead of the
// bytes its hash states cover is discarded with a reason, even for a Dest
// that cannot be read back.
func TestHostileJournalAheadOfHash(t *testing.T) {
	const size = 1 << 20
	s, req := newServer(t, size)
	h := newHashes()
	h.Write(s.Content().Bytes()[:1000])
	m, sh, _ := h.marshal()
	bad := &journal{Version: journalVersion, URL: req.URL, WantSize: req.Size, WantMD5: req.MD5, WantSHA256: req.SHA256,
		Total: size, Offset: 512 << 10, Fetched: 512 << 10, MD5State: m, SHA256State: sh}
	if err := bad.save(req.Journal); err != nil {
		t.Fatal(err)
	}
	_, err := loadJournal(req.Journal)
	wantMatch(t, err, `^journal offset 524288 is ahead of its md5 state \(1000 bytes hashed\)$`)
	o := testOptions(t)
	l := capture(t, &o)
	f := destFile(t)
	if _, err := Fetch(t.Context(), o, req, writeOnly{f}, nil); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	checkFile(t, f, s.Content())
	if r := s.Ranges(); len(r) != 1 || r[0] != "" {
		t.Errorf("ranges = %q, want one request from zero", r)
	}
	if !strings.Contains(l.String(), "is ahead of its md5 state") {
		t.Error("log does not say why the journal was discarded")
	}
	t.Run("states disagree", func(t *testing.T) {
		h2 := newHashes()
		h2.md5.Write([]byte("x"))
		m2, _, _ := h2.marshal()
		j := *bad
		j.Offset, j.MD5State = 0, m2
		b, _ := json.Marshal(&j)
		_, err := decodeJournal(b)
		wantMatch(t, err, `^journal offset 0 is behind its md5 state \(1 bytes hashed\)$`)
	})
}

// TestHostileTimeBudget: the time budget holds across a restart (the
// elapsed time is in the journal) and fails for good once used up.
func TestHostileTimeBudget(t *testing.T) {
	const size = 1 << 20
	s, req := newServer(t, size)
	s.SetRate(256 << 10) // 4 s for the whole file
	o := testOptions(t)
	o.TimeBudget = time.Second
	dst := destFile(t)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(400*time.Millisecond, cancel)
	if _, err := timed(ctx, o, req, dst); !errors.Is(err, context.Canceled) {
		t.Fatalf("first Fetch = %v, want context.Canceled", err)
	}
	j, err := loadJournal(req.Journal)
	if err != nil || j == nil || j.Elapsed < 350*time.Millisecond {
		t.Fatalf("journal after the first run = %+v, %v; want about 400ms elapsed", j, err)
	}
	d, err := timed(t.Context(), o, req, dst)
	wantIs(t, err, ErrTimeBudget)
	wantMatch(t, err, `download time budget exhausted: this version's download has run for 1s across attempts and restarts, the limit is download\.time_budget 1s; the link is too slow for this image, raise download\.time_budget or try again later$`)
	within(t, "second run", d, 1000*time.Millisecond-j.Elapsed-100*time.Millisecond, 2500*time.Millisecond)
	t.Logf("first run stopped with %v in the journal; second run failed after %v, %d bytes sent in all", j.Elapsed, d, s.Served())
	if s.Served() >= size {
		t.Errorf("server sent %d bytes, want less than the file", s.Served())
	}
	reqs := s.Requests()
	d, err = timed(t.Context(), o, req, dst)
	wantIs(t, err, ErrTimeBudget)
	within(t, "third run", d, 0, 500*time.Millisecond)
	if n := s.Requests(); n != reqs {
		t.Errorf("third run made %d requests, want none", n-reqs)
	}
}
