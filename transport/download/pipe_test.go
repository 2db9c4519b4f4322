package download

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"ota-agent/transport/download/downloadtest"
)

// pipeGoroutines returns the stacks of live goroutines running a pipeline
// stage of this package.
func pipeGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "transport/download.(*pipe)") {
			found = append(found, g)
		}
	}
	return found
}

// TestPipelineEndsWithFetch checks that no pipeline goroutine outlives a
// Fetch that was cancelled mid-body, timed out on a stall, or failed to
// write, and that the journal left by the cancel resumes to the right bytes.
func TestPipelineEndsWithFetch(t *testing.T) {
	const size = 4 << 20
	if g := pipeGoroutines(); len(g) > 0 {
		t.Fatalf("pipeline goroutines before the test:\n%s", strings.Join(g, "\n\n"))
	}
	t.Run("cancel", func(t *testing.T) {
		s, req := newServer(t, size)
		s.SetRate(16 << 20)
		dst := destFile(t)
		ctx, cancel := context.WithCancel(t.Context())
		_, err := Fetch(ctx, testOptions(t), req, dst, func(done, total int64) {
			if done > size/3 {
				cancel()
			}
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Fetch = %v, want context.Canceled", err)
		}
		checkNoPipe(t)
		s.SetRate(0)
		if _, err := Fetch(t.Context(), testOptions(t), req, dst, nil); err != nil {
			t.Fatalf("resumed Fetch: %v", err)
		}
		checkFile(t, dst, s.Content())
	})
	t.Run("stall", func(t *testing.T) {
		s, req := newServer(t, size)
		s.Always(downloadtest.Fault{Kind: downloadtest.Stall, N: 300 << 10})
		o := testOptions(t)
		o.MaxRetries = -1 // the first stall is final
		_, err := Fetch(t.Context(), o, req, destFile(t), nil)
		if !errors.Is(err, ErrStall) {
			t.Fatalf("Fetch = %v, want ErrStall", err)
		}
		checkNoPipe(t)
	})
	t.Run("write fails", func(t *testing.T) {
		_, req := newServer(t, size)
		f := destFile(t)
		f.Close() // every WriteAt fails
		_, err := Fetch(t.Context(), testOptions(t), req, f, nil)
		if err == nil || !strings.Contains(err.Error(), "write destination at offset 0") {
			t.Fatalf("Fetch = %v, want a write error at offset 0", err)
		}
		checkNoPipe(t)
	})
}

func checkNoPipe(t *testing.T) {
	t.Helper()
	if g := pipeGoroutines(); len(g) > 0 {
		t.Errorf("%d pipeline goroutine(s) outlived Fetch:\n%s", len(g), strings.Join(g, "\n\n"))
	}
}

// TestPipeDepth checks the pool bounds: four buffers at least, half of a
// sync interval otherwise, never more than maxPipeBufs.
func TestPipeDepth(t *testing.T) {
	for _, tt := range []struct {
		sync int64
		want int
	}{{1, 4}, {bufSize, 4}, {1 << 20, 4}, {DefaultSyncEvery, 8}, {16 << 20, 16}, {1 << 30, maxPipeBufs}} {
		if got := pipeDepth(tt.sync); got != tt.want {
			t.Errorf("pipeDepth(%d) = %d, want %d", tt.sync, got, tt.want)
		}
	}
}
