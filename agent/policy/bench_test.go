package policy_test

import (
	"testing"

	"ota-agent/agent/policy"
)

// BenchmarkCompareAkaso orders every AKASO sample pair under auto once per
// iteration; b.ReportMetric gives the cost of one comparison.
func BenchmarkCompareAkaso(b *testing.B) {
	n := 0
	for b.Loop() {
		for _, tt := range akasoCases {
			policy.Compare("auto", tt.a, tt.b)
			n++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/compare")
}
