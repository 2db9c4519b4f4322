package agent_test

import (
	"crypto/rand"
	"fmt"
	"testing"

	"ota-agent/agent"
)

// BenchmarkUpdateFile measures one whole update of a file component: check
// against the fake AKASO server, policy, staged download with MD5, unpack,
// atomic replace, every phase persisted (fsync'd state writes included).
func BenchmarkUpdateFile(b *testing.B) {
	const size = 4 << 20
	data := make([]byte, size)
	rand.Read(data)
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		r := newRig(b, "")
		r.offer(fmt.Sprintf("2.%d.0", i), data, "")
		b.StartTimer()
		_, outs, err := r.ag.Update(b.Context(), agent.UpdateOptions{})
		if err != nil || len(outs) != 1 {
			b.Fatalf("Update = %+v, %v", outs, err)
		}
	}
	b.SetBytes(size)
}
