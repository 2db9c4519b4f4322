package upgradelink_test

import (
	"testing"

	"ota-agent/transport/upgradelink"
	"ota-agent/transport/upgradelink/upgradelinktest"
)

// BenchmarkCheck is one signed check over loopback against the fake, which
// verifies the signature: the per-poll cost of the client.
func BenchmarkCheck(b *testing.B) {
	srv := upgradelinktest.NewServer(upgradelinktest.Config{})
	defer srv.Close()
	srv.Publish("file", "k", 2, 2, []byte("x"))
	c := upgradelink.New(upgradelink.Config{BaseURL: srv.URL, AccessKey: upgradelinktest.DefaultAccessKey,
		SecretKey: upgradelinktest.DefaultSecretKey, Kind: "file", Key: "k", Component: "rootfs"})
	for b.Loop() {
		if o, err := c.Check(b.Context(), dev("1")); err != nil || len(o) != 1 {
			b.Fatalf("Check = %v, %v", o, err)
		}
	}
}
