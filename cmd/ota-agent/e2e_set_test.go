package main_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"ota-agent/cmd/internal/demo"
	"ota-agent/flasher/ymodem/ymodemtest"
)

// bundle zips images with a manifest listing them in the order given.
func bundle(t *testing.T, version string, parts ...[2]any) []byte {
	t.Helper()
	var ims []string
	for _, p := range parts {
		sum := sha256.Sum256(p[1].([]byte))
		ims = append(ims, fmt.Sprintf(`{"component":%q,"version":%q,"file":"%s.img","sha256":%q}`, p[0], version, p[0], hex.EncodeToString(sum[:])))
	}
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	add := func(name string, b []byte) {
		f, _ := w.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
		f.Write(b)
	}
	add("manifest.json", []byte(`{"images":[`+strings.Join(ims, ",")+`]}`))
	for _, p := range parts {
		add(p[0].(string)+".img", p[1].([]byte))
	}
	w.Close()
	return buf.Bytes()
}

// TestE2ESetOnSimulatedBoard: one AKASO package carrying the rootfs, the
// STM32 and the MXChip module images is one update on the simulated board.
// The first goes through; in the second the module fails its verify after
// the STM32 took its new image, and the STM32 and the rootfs are put back.
func TestE2ESetOnSimulatedBoard(t *testing.T) {
	mcu1, wifi1 := demo.Image(21, 8192), demo.Image(22, 12000)
	r := newE2E(t, "akaso", demo.ConfigOptions{Components: []string{"rootfs", "mcu", "wifi"}},
		demo.DeviceOptions{WiFiFaults: []ymodemtest.Fault{{Kind: ymodemtest.Verify}}})
	// The parts' current images, installed by hand, are what a failed
	// update puts back. The module's one Verify fault fires on the first.
	if res := r.run(t, "install", "--component", "wifi", "--md5", md5of(wifi1), "--version", "1.1", r.srv.Host("w1.bin", wifi1)); res.code != 1 {
		t.Fatalf("first wifi install: exit %d, want 1 (the injected verify failure)\n%s", res.code, res.stderr)
	}
	for _, p := range []struct {
		c   string
		img []byte
	}{{"mcu", mcu1}, {"wifi", wifi1}} {
		r.must(t, "install", "--component", p.c, "--md5", md5of(p.img), "--version", "1.1", r.srv.Host(p.c+"1.bin", p.img))
	}

	rootfs2, mcu2, wifi2 := demo.Image(31, 1<<20), demo.Image(32, 8192), demo.Image(33, 12000)
	r.publish(t, demo.Firmware{Component: "rootfs", Version: "2.0.0", Data: bundle(t, "2.0.0", [2]any{"rootfs", rootfs2}, [2]any{"mcu", mcu2}, [2]any{"wifi", wifi2})})
	if out := r.must(t, "update"); !strings.Contains(out, "rootfs 2.0.0: written and armed") {
		t.Errorf("update: %s", out)
	}
	if got := r.dev.MCU.Flash()[:len(mcu1)]; !bytes.Equal(got, mcu1) {
		t.Error("the STM32 was flashed before the new slot booted")
	}
	r.boot(t)
	if out := r.must(t, "commit"); !strings.Contains(out, "rootfs 2.0.0 committed in slot B") {
		t.Errorf("commit: %s", out)
	}
	st := r.status(t)
	for n, v := range map[string]string{"rootfs": "2.0.0", "mcu": "2.0.0", "wifi": "2.0.0"} {
		if st[n].Version != v || !st[n].Rollback {
			t.Errorf("%s: version %q rollback %v, want %s and rollback", n, st[n].Version, st[n].Rollback, v)
		}
	}
	if got := r.dev.MCU.Flash()[:len(mcu2)]; !bytes.Equal(got, mcu2) {
		t.Errorf("STM32 md5 %s, want the new %s", md5of(got), md5of(mcu2))
	}
	if files := r.dev.WiFi.Files(); !bytes.Equal(files[len(files)-1].Data, wifi2) {
		t.Error("the module does not hold the new image")
	}

	// The next release: the module fails its verify after the STM32 took
	// its new image. Both parts and the rootfs go back to 2.0.0.
	rootfs3, mcu3, wifi3 := demo.Image(41, 1<<20), demo.Image(42, 8192), demo.Image(43, 12000)
	r.publish(t, demo.Firmware{Component: "rootfs", Version: "3.0.0", Data: bundle(t, "3.0.0", [2]any{"rootfs", rootfs3}, [2]any{"mcu", mcu3}, [2]any{"wifi", wifi3})})
	r.must(t, "update")
	r.dev.WiFi.Inject(ymodemtest.Fault{Kind: ymodemtest.Verify})
	if slot := r.boot(t); slot != "A" {
		t.Fatalf("booted %s, want the new slot A", slot)
	}
	res := r.run(t, "commit")
	if res.code != 1 || !strings.Contains(res.stderr, "wifi 3.0.0: install wifi 3.0.0 (ymodem)") || !strings.Contains(res.stderr, "restored wifi 2.0.0, mcu 2.0.0") {
		t.Fatalf("commit: exit %d, stderr %s; want the module's failure named and both parts restored", res.code, res.stderr)
	}
	if got := r.dev.MCU.Flash()[:len(mcu2)]; !bytes.Equal(got, mcu2) {
		t.Errorf("STM32 md5 %s after the restore, want 2.0.0's %s", md5of(got), md5of(mcu2))
	}
	if files := r.dev.WiFi.Files(); !bytes.Equal(files[len(files)-1].Data, wifi2) {
		t.Error("the module was not given 2.0.0 back")
	}
	if slot := r.boot(t); slot != "B" {
		t.Errorf("after the failed update the bootloader booted %s, want the old slot B", slot)
	}
	st = r.status(t)
	if st["rootfs"].Version != "2.0.0" || st["mcu"].Version != "2.0.0" || st["wifi"].Version != "2.0.0" || !slices.Contains(st["rootfs"].FailedVersions, "3.0.0") {
		t.Errorf("status after the failed update: rootfs %s %v, mcu %s, wifi %s", st["rootfs"].Version, st["rootfs"].FailedVersions, st["mcu"].Version, st["wifi"].Version)
	}
}

// TestE2ESetKills SIGKILLs `commit` at random instants while it flashes the
// parts of a three-part update and, when the module is made to fail, while
// it puts them back; `commit` runs again after each kill, as a restarted
// daemon would. Every run must end all new or all old on the simulated
// devices.
func TestE2ESetKills(t *testing.T) {
	c, rnd := newCampaign(t, "set kills", 4)
	for run := range c.runs {
		failWiFi := rnd.IntN(2) == 0
		mcu1, wifi1 := demo.Image(uint64(50+run), 8192), demo.Image(uint64(60+run), 12000)
		r := newE2E(t, "akaso", demo.ConfigOptions{Components: []string{"rootfs", "mcu", "wifi"}}, demo.DeviceOptions{})
		for _, p := range []struct {
			c   string
			img []byte
		}{{"mcu", mcu1}, {"wifi", wifi1}} {
			r.must(t, "install", "--component", p.c, "--md5", md5of(p.img), "--version", "1.1", r.srv.Host(p.c+"1.bin", p.img))
		}
		rootfs2, mcu2, wifi2 := demo.Image(uint64(70+run), 1<<20), demo.Image(uint64(80+run), 8192), demo.Image(uint64(90+run), 12000)
		r.publish(t, demo.Firmware{Component: "rootfs", Version: "2.0.0", Data: bundle(t, "2.0.0", [2]any{"rootfs", rootfs2}, [2]any{"mcu", mcu2}, [2]any{"wifi", wifi2})})
		r.must(t, "update")
		if failWiFi {
			r.dev.WiFi.Inject(ymodemtest.Fault{Kind: ymodemtest.Verify})
			c.faults++
		}
		r.boot(t)
		kills := 0
		for range 3 {
			if r.killAfter(t, time.Duration(rnd.IntN(1500))*time.Millisecond, "commit") {
				kills++
			}
		}
		r.run(t, "commit")
		st := r.status(t)
		if st["rootfs"].Phase == "rebooting" || st["rootfs"].Phase == "committing" {
			r.boot(t)
			r.run(t, "commit")
			st = r.status(t)
		}
		files := r.dev.WiFi.Files()
		want := map[bool][2][]byte{true: {mcu2, wifi2}, false: {mcu1, wifi1}}[st["rootfs"].Version == "2.0.0"]
		ok := bytes.Equal(r.dev.MCU.Flash()[:8192], want[0]) && len(files) > 0 && bytes.Equal(files[len(files)-1].Data, want[1]) &&
			st["mcu"].Version == st["wifi"].Version
		t.Logf("run %d: wifi fails %v, %d kills, rootfs %s, mcu %s, wifi %s: consistent %v", run, failWiFi, kills, st["rootfs"].Version, st["mcu"].Version, st["wifi"].Version, ok)
		if ok {
			c.right++
		}
	}
}
