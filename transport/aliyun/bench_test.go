package aliyun_test

import (
	"testing"

	"ota-agent/transport/aliyun"
	"ota-agent/transport/aliyun/aliyuntest"
)

// BenchmarkCheckResolve is one poll against the fake over loopback: a
// 250-package listing in 3 signed pages, then the QueryOTAFirmware for the
// chosen package.
func BenchmarkCheckResolve(b *testing.B) {
	srv := aliyuntest.NewServer(aliyuntest.Config{})
	defer srv.Close()
	for i := range 250 {
		srv.AddFirmware(aliyuntest.Firmware{ProductKey: "p", DestVersion: "1." + string(rune('a'+i%26)), Status: 1, Data: []byte{byte(i)}})
	}
	c := aliyun.New(aliyun.Config{Endpoint: srv.URL, AccessKeyID: aliyuntest.DefaultAccessKeyID, AccessKeySecret: aliyuntest.DefaultAccessKeySecret,
		ProductKey: "p", Modules: map[string]string{"default": "rootfs"}})
	for b.Loop() {
		o, err := c.Check(b.Context(), device("0", "0"))
		if err != nil || len(o) != 1 {
			b.Fatalf("Check = %v, %v", o, err)
		}
		if _, err := c.ResolveURL(b.Context(), o[0]); err != nil {
			b.Fatal(err)
		}
	}
}
