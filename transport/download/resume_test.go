package download

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"ota-agent/transport/download/downloadtest"
)

// TestResumeInProcess stops a download half-way (as a shutdown would) and
// checks that the next Fetch continues with Range + If-Range.
func TestResumeInProcess(t *testing.T) {
	const size = 4 << 20
	s, req := newServer(t, size)
	dst := destFile(t)
	j := partial(t, s, req, dst)
	if _, err := Fetch(t.Context(), testOptions(t), req, dst, nil); err != nil {
		t.Fatalf("resumed Fetch: %v", err)
	}
	checkFile(t, dst, s.Content())
	want := fmt.Sprintf("bytes=%d-", j.Offset)
	if r := s.Ranges(); !slices.Contains(r, want) {
		t.Errorf("server saw ranges %q, want one %q", r, want)
	}
}

// TestJournalForAnotherDownload checks a journal for another URL or digest
// is ignored rather than resumed.
func TestJournalForAnotherDownload(t *testing.T) {
	s, req := newServer(t, 256<<10)
	h := newHashes()
	m, sh, _ := h.marshal()
	other := &journal{Version: journalVersion, URL: req.URL + "x", Total: req.Size, Offset: 1000, MD5State: m, SHA256State: sh}
	if err := other.save(req.Journal); err != nil {
		t.Fatal(err)
	}
	dst := destFile(t)
	if _, err := Fetch(t.Context(), testOptions(t), req, dst, nil); err != nil {
		t.Fatal(err)
	}
	if r := s.Ranges(); len(r) != 1 || r[0] != "" {
		t.Errorf("ranges = %q, want one request without range", r)
	}
}

// TestKillAndResume SIGKILLs a child process mid-download at random points
// and checks the final file and the bytes served again after each kill.
func TestKillAndResume(t *testing.T) {
	const (
		size  = 64 << 20
		sync  = 1 << 20
		kills = 4
		// slack covers bytes in socket buffers when the kill lands (the
		// server counts them as served although the child never read them):
		// the child's receive and the server's send buffer, each doubled by
		// the kernel, plus the buffers in the child's pipeline (pipe.go).
		sndbuf = 64 << 10
	)
	slack := int64(2*childRcvBuf + 2*sndbuf + pipeDepth(sync)*bufSize)
	c := downloadtest.Content{Seed: 7, Size: size}
	s := downloadtest.New(c)
	t.Cleanup(s.Close)
	s.SetRate(24 << 20)
	s.SetSendBuffer(sndbuf)
	_, sha := c.Digests()
	dir := t.TempDir()
	dest, jpath := filepath.Join(dir, "image"), filepath.Join(dir, "image.journal")
	points := make([]int64, kills)
	for i := range points {
		points[i] = int64(float64(size) * (0.1 + 0.8*rand.Float64()))
	}
	slices.Sort(points)
	for i, p := range points {
		start := s.Served()
		cmd := childCmd(s.URL+"/fw.bin", dest, jpath, size, sha, sync)
		cmd.Stderr = t.Output()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		target := max(p, start+sync) // each life makes some progress
		if err := waitServed(t, s, target); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal(err)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		t.Logf("kill %d at %d bytes served", i+1, s.Served())
	}
	s.SetRate(0)
	cmd := childCmd(s.URL+"/fw.bin", dest, jpath, size, sha, sync)
	cmd.Stderr = t.Output()
	if err := cmd.Run(); err != nil {
		t.Fatalf("final child: %v", err)
	}
	if got := fileSHA(t, dest); got != sha {
		t.Fatalf("file sha256 = %s, want %s", got, sha)
	}
	extra := s.Served() - size
	t.Logf("served %d bytes for a %d-byte file: %d re-downloaded over %d kills (sync interval %d)", s.Served(), size, extra, kills, sync)
	if extra > kills*(sync+slack) {
		t.Errorf("re-downloaded %d bytes, want at most %d × (%d + %d slack)", extra, kills, sync, slack)
	}
}

// waitServed polls the server's byte count until it reaches n (bounded by a
// generous limit so that a broken child cannot hang the test).
func waitServed(t *testing.T, s *downloadtest.Server, n int64) error {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	limit := time.NewTimer(60 * time.Second)
	defer limit.Stop()
	for s.Served() < n {
		select {
		case <-tick.C:
		case <-limit.C:
			return fmt.Errorf("server served %d bytes, never reached %d", s.Served(), n)
		case <-t.Context().Done():
			return t.Context().Err()
		}
	}
	return nil
}

func fileSHA(t testing.TB, p string) string {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil))
}
