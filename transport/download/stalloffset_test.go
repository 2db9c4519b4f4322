package download

import (
	"errors"
	"strings"
	"testing"

	"ota-agent/transport/download/downloadtest"
)

// TestStallNamesOffset: a stall error names the offset the download had
// reached, not the attempt's start (issue 16 item 17).
func TestStallNamesOffset(t *testing.T) {
	s, req := newServer(t, 2<<20)
	s.Always(downloadtest.Fault{Kind: downloadtest.Stall, N: 524288})
	o := testOptions(t)
	o.MaxRetries = -1 // the first stall is final
	_, err := Fetch(t.Context(), o, req, destFile(t), nil)
	if !errors.Is(err, ErrStall) || !strings.Contains(err.Error(), "read body at 524288 bytes") {
		t.Fatalf("Fetch = %v, want ErrStall read body at 524288 bytes", err)
	}
}
