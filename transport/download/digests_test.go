package download

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMD5OnlyWhenGiven: a request without an MD5 computes none (no MD5 in
// the result, no MD5 state in the journal), is still proved by its
// SHA-256, and resumes from a journal without an MD5 state, re-hashing the
// staged prefix.
func TestMD5OnlyWhenGiven(t *testing.T) {
	const size = 4 << 20
	s, req := newServer(t, size)
	req.MD5 = ""
	dst := destFile(t)
	j := partial(t, s, req, dst)
	if j.MD5State != nil || len(j.SHA256State) == 0 {
		t.Fatalf("journal without an MD5 asked: md5 state %d bytes, sha256 state %d bytes; want none and some", len(j.MD5State), len(j.SHA256State))
	}
	o := testOptions(t)
	l := capture(t, &o)
	res, err := Fetch(t.Context(), o, req, dst, nil)
	if err != nil {
		t.Fatalf("resumed Fetch: %v", err)
	}
	checkFile(t, dst, s.Content())
	if r := s.Ranges(); r[len(r)-1] != fmt.Sprintf("bytes=%d-", j.Offset) || strings.Contains(l.String(), "restarting") {
		t.Errorf("ranges %q, log %q; want a resume from %d", r, l.String(), j.Offset)
	}
	_, sha := s.Content().Digests()
	if res.MD5 != "" || res.SHA256 != sha || res.Size != size {
		t.Errorf("result = %+v; want no MD5, sha256 %s, %d bytes", res, sha, size)
	}
}

// TestMD5WhenGiven: with an MD5 in the request the result and the journal
// carry it, and a wrong one fails as an md5 DigestError.
func TestMD5WhenGiven(t *testing.T) {
	const size = 1 << 20
	s, req := newServer(t, size)
	res, err := Fetch(t.Context(), testOptions(t), req, destFile(t), nil)
	m, _ := s.Content().Digests()
	if err != nil || res.MD5 != m {
		t.Fatalf("Fetch = %+v, %v; want md5 %s", res, err, m)
	}
	req.MD5 = strings.Repeat("0", 32)
	_, err = Fetch(t.Context(), testOptions(t), req, destFile(t), nil)
	wantMatch(t, err, `md5 .*`+m)
}

// TestJournalMD5State: a journal that wants an MD5 must carry its state; one
// that wants none may carry none, or an old one (ignored when resuming).
func TestJournalMD5State(t *testing.T) {
	h := newHashes()
	h.Write([]byte("abc"))
	m, sh, _ := h.marshal()
	for _, tt := range []struct {
		name    string
		wantMD5 string
		state   []byte
		err     string
	}{
		{"md5 asked, state missing", "900150983cd24fb0d6963f7d28e17f72", nil, "md5 state"},
		{"md5 asked, state present", "900150983cd24fb0d6963f7d28e17f72", m, ""},
		{"no md5, no state", "", nil, ""},
		{"no md5, old state", "", m, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			j := journal{Version: journalVersion, URL: "https://x/fw", WantMD5: tt.wantMD5, Total: 3, Offset: 3, Fetched: 3, MD5State: tt.state, SHA256State: sh}
			b, _ := json.Marshal(&j)
			_, err := decodeJournal(b)
			if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("decodeJournal = %v; want error %q", err, tt.err)
			}
		})
	}
}

// TestResumeOldJournalWithMD5State: a journal written by an agent that
// always computed MD5 resumes a download that asks for none.
func TestResumeOldJournalWithMD5State(t *testing.T) {
	const size = 4 << 20
	s, req := newServer(t, size)
	dst := destFile(t)
	j := partial(t, s, req, dst) // with an MD5: the journal holds its state
	if len(j.MD5State) == 0 {
		t.Fatal("journal has no MD5 state")
	}
	j.WantMD5, req.MD5 = "", ""
	if err := j.save(req.Journal); err != nil {
		t.Fatal(err)
	}
	if _, err := Fetch(t.Context(), testOptions(t), req, dst, nil); err != nil {
		t.Fatalf("resumed Fetch: %v", err)
	}
	checkFile(t, dst, s.Content())
	if r := s.Ranges(); r[len(r)-1] != fmt.Sprintf("bytes=%d-", j.Offset) {
		t.Errorf("ranges %q; want a resume from %d", r, j.Offset)
	}
	if _, err := os.Stat(req.Journal); !os.IsNotExist(err) {
		t.Errorf("journal left after a verified download: %v", err)
	}
}

// countSyncs is a Dest that counts Sync calls.
type countSyncs struct {
	*os.File
	syncs int
}

func (c *countSyncs) Sync() error { c.syncs++; return c.File.Sync() }

// TestMinSyncGap: checkpoints come every SyncEvery bytes, but no closer
// than MinSyncGap: a fast download of 8 MiB with SyncEvery 64 KiB syncs
// once per 256 KiB buffer with no gap, and only at the end with a gap of
// an hour.
func TestMinSyncGap(t *testing.T) {
	const size = 8 << 20
	for _, tt := range []struct {
		gap      time.Duration
		min, max int
	}{{-1, size/bufSize - 1, size/bufSize + 1}, {time.Hour, 1, 1}} {
		t.Run(tt.gap.String(), func(t *testing.T) {
			s, req := newServer(t, size)
			o := testOptions(t)
			o.MinSyncGap = tt.gap
			d := &countSyncs{File: destFile(t)}
			if _, err := Fetch(t.Context(), o, req, d, nil); err != nil {
				t.Fatal(err)
			}
			checkFile(t, d.File, s.Content())
			if d.syncs < tt.min || d.syncs > tt.max {
				t.Errorf("%d syncs with MinSyncGap %v; want %d to %d", d.syncs, tt.gap, tt.min, tt.max)
			}
		})
	}
}
