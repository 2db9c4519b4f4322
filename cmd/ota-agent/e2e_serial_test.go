package main_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"ota-agent/cmd/internal/demo"
)

// TestE2EMXChipMCUAndWiFi: the MXChip API's MCU offer (ota_type 0) goes
// into the stm32 component and its Wi-Fi offer (ota_type 1) into the
// ymodem component behind the MXCHIP> menu; both land exactly, and the
// version report that follows carries both new versions. A second release
// of the Wi-Fi firmware then goes in through a reset of the booted module.
func TestE2EMXChipMCUAndWiFi(t *testing.T) {
	mcu, wifi, wifi2 := demo.Image(31, 8192), demo.Image(32, 20000), demo.Image(33, 3*1024)
	r := newE2E(t, "mxchip", demo.ConfigOptions{Components: []string{"mcu", "wifi"}}, demo.DeviceOptions{})
	r.publish(t, fwOf("mcu", "1.1.0", mcu), fwOf("wifi", "1.1.0", wifi))
	out := r.must(t, "update", "--yes")
	for _, l := range []string{"mcu 1.1.0: installed", "wifi 1.1.0: installed"} {
		if !strings.Contains(out, l) {
			t.Errorf("update output lacks %q:\n%s", l, out)
		}
	}
	wantVersions(t, r.status(t), map[string]string{"mcu": "1.1.0/idle", "wifi": "1.1.0/idle"})
	if got := r.dev.MCU.Flash()[:len(mcu)]; !bytes.Equal(got, mcu) {
		t.Errorf("STM32 flash md5 %s, want %s", md5of(got), md5of(mcu))
	}
	wantWiFi(t, r, wifi)
	if got, want := r.dev.WiFi.Commands(), []string{"FWUPDATE", "BOOT"}; !isSubsequence(want, got) {
		t.Errorf("MXChip module was typed %q, want FWUPDATE then BOOT", got)
	}
	wantLastReport(t, r, "mcu_version=1.1.0 wifi_version=1.1.0", "GET /files/wifi-1.1.0.bin")

	r.publish(t, fwOf("wifi", "1.2.0", wifi2))
	if out := r.must(t, "update", "--yes"); !strings.Contains(out, "wifi 1.2.0: installed") {
		t.Errorf("second update:\n%s", out)
	}
	if got := r.dev.WiFiImage(); !bytes.Equal(got, wifi2) {
		t.Errorf("after the reset into its bootloader the module holds md5 %s, want %s", md5of(got), md5of(wifi2))
	}
	wantLastReport(t, r, "mcu_version=1.1.0 wifi_version=1.2.0", "GET /files/wifi-1.2.0.bin")
}

// wantLastReport checks that the server's last version report says want
// and that a PUT came after the request after.
func wantLastReport(t *testing.T, r *e2eRig, want, after string) {
	t.Helper()
	rec := r.srv.Received()
	var last string
	for _, l := range rec {
		if strings.HasPrefix(l, "version report: ") {
			last = l
		}
	}
	if !strings.HasSuffix(last, want) {
		t.Errorf("last version report %q, want %q; server received:\n%s", last, want, strings.Join(rec, "\n"))
	}
	i := slices.Index(rec, after)
	if i < 0 || !slices.Contains(rec[i:], "PUT /api/v1/ota/version/") {
		t.Errorf("no version PUT after %q; server received:\n%s", after, strings.Join(rec, "\n"))
	}
}

// isSubsequence reports whether want appears in got in order.
func isSubsequence(want, got []string) bool {
	for _, g := range got {
		if len(want) > 0 && g == want[0] {
			want = want[1:]
		}
	}
	return len(want) == 0
}
