package main

import (
	"strings"
	"testing"

	"ota-agent/agent"
)

// TestTrustLine: status, check and config check say what proves an
// install, and say it loudly when download.allow_unverified loosens it.
func TestTrustLine(t *testing.T) {
	for _, tt := range []struct {
		t    agent.TrustStatus
		want string
	}{
		{agent.TrustStatus{}, "trust: a digest (offer md5/sha256 or manifest sha256) is required"},
		{agent.TrustStatus{AllowUnverified: true}, "WARNING: download.allow_unverified = true"},
		{agent.TrustStatus{RequireSignature: true, KeyIDs: []string{"A5F3AE0E2AAD8C9"}}, "trust: minisign signature required, keys A5F3AE0E2AAD8C9"},
		{agent.TrustStatus{RequireSignature: true, AllowUnverified: true, KeyIDs: []string{"1"}}, "trust: minisign signature required"},
	} {
		if got := trustLine(tt.t); !strings.HasPrefix(got, tt.want) {
			t.Errorf("trustLine(%+v) = %q, want prefix %q", tt.t, got, tt.want)
		}
	}
}
