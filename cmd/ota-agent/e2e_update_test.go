package main_test

import (
	"bytes"
	"context"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"ota-agent/agent/policy"
	"ota-agent/cmd/internal/demo"
)

// boot plays one power-on of the rig's bootloader and returns the slot.
func (r *e2eRig) boot(t *testing.T) string {
	t.Helper()
	slot, err := r.dev.Rig.Boot(context.Background())
	if err != nil {
		t.Fatalf("bootloader: %v", err)
	}
	return slot
}

func wantVersions(t *testing.T, st map[string]agentStatus, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for n := range want {
		got[n] = st[n].Version + "/" + string(st[n].Phase)
	}
	if d := cmpDiff(want, got); d != "" {
		t.Errorf("status versions/phases (-want +got):\n%s", d)
	}
}

// TestE2EUpdateEveryType installs one release into every component type
// the agent builds (ab, stm32, ymodem behind the MXChip CLI, esp, file)
// from the Aliyun fake, plays the reboot and commits.
func TestE2EUpdateEveryType(t *testing.T) {
	rootfs, mcu, wifi, radio, settings := demo.Image(1, 1<<20), demo.Image(2, 8192), demo.Image(3, 16<<10)[:15000], demo.Image(4, 16<<10), []byte(`{"interval": 30}`)
	r := newE2E(t, "aliyun", demo.ConfigOptions{}, demo.DeviceOptions{})
	r.publish(t, fwOf("rootfs", "2.0.0", rootfs), fwOf("mcu", "1.1.0", mcu), fwOf("wifi", "1.1.0", wifi), fwOf("radio", "1.1.0", radio), fwOf("settings", "1.0.1", settings))
	out := r.must(t, "update", "--yes")
	for _, l := range []string{"rootfs 2.0.0: written and armed", "mcu 1.1.0: installed", "wifi 1.1.0: installed", "radio 1.1.0: installed", "settings 1.0.1: installed"} {
		if !strings.Contains(out, l) {
			t.Errorf("update output lacks %q:\n%s", l, out)
		}
	}
	wantVersions(t, r.status(t), map[string]string{"rootfs": "1.0.0/rebooting", "mcu": "1.1.0/idle", "wifi": "1.1.0/idle", "radio": "1.1.0/idle", "settings": "1.0.1/idle"})
	if slot := r.boot(t); slot != "B" {
		t.Fatalf("bootloader booted %s after the install, want B", slot)
	}
	if out := r.must(t, "commit"); !strings.Contains(out, "rootfs 2.0.0 committed in slot B") {
		t.Errorf("commit said %q", out)
	}
	wantVersions(t, r.status(t), map[string]string{"rootfs": "2.0.0/idle", "mcu": "1.1.0/idle", "wifi": "1.1.0/idle", "radio": "1.1.0/idle", "settings": "1.0.1/idle"})
	if got := readFile(t, r.dev.Rig.Config.Slots["B"])[:len(rootfs)]; !bytes.Equal(got, rootfs) {
		t.Errorf("slot B md5 %s, want %s", md5of(got), md5of(rootfs))
	}
	if got := r.dev.MCU.Flash()[:len(mcu)]; !bytes.Equal(got, mcu) {
		t.Errorf("STM32 flash md5 %s, want %s", md5of(got), md5of(mcu))
	}
	wantWiFi(t, r, wifi)
	if got := r.dev.ESP.Flash(0x10000, len(radio)); !bytes.Equal(got, radio) {
		t.Errorf("ESP32 flash at 0x10000 md5 %s, want %s", md5of(got), md5of(radio))
	}
	if got := readFile(t, r.dev.SettingsPath); !bytes.Equal(got, settings) {
		t.Errorf("settings file = %q, want %q", got, settings)
	}
	vars, err := r.dev.Rig.Vars(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if vars["BOOT_ORDER"] != "B A" || vars["BOOT_B_LEFT"] != "3" {
		t.Errorf("env after commit: BOOT_ORDER=%q BOOT_B_LEFT=%q, want \"B A\" and 3", vars["BOOT_ORDER"], vars["BOOT_B_LEFT"])
	}
	// A second update finds nothing new.
	if out := r.must(t, "update"); !strings.Contains(out, "nothing to install") {
		t.Errorf("second update: %s", out)
	}
}

// TestE2EPromptHoldApprove: an UpgradeLink prompt offer is held, approved
// with `approve`, installed by the next update, and both events reported.
func TestE2EPromptHoldApprove(t *testing.T) {
	img := demo.Image(5, 256<<10)
	r := newE2E(t, "upgradelink", demo.ConfigOptions{Components: []string{"rootfs"}, Versions: map[string]string{"rootfs": "6"},
		Policy: []string{`version_scheme = "numeric"`, `prompt = "hold"`}}, demo.DeviceOptions{})
	r.publish(t, demo.Firmware{Component: "rootfs", Version: "7", Data: img, UpgradeType: "prompt"})
	if out := r.must(t, "update"); !strings.Contains(out, "rootfs 7: hold: prompt: waiting for ota-agent approve") {
		t.Errorf("update without --yes: %s", out)
	}
	if st := r.status(t)["rootfs"]; !st.Held || st.Version != "6" {
		t.Errorf("status after hold: held=%v version=%s, want held at 6", st.Held, st.Version)
	}
	if out := r.must(t, "approve", "rootfs"); !strings.Contains(out, "approved: rootfs") {
		t.Errorf("approve: %s", out)
	}
	if out := r.must(t, "update"); !strings.Contains(out, "rootfs 7: written and armed") {
		t.Errorf("update after approve: %s", out)
	}
	r.boot(t)
	r.must(t, "commit")
	wantVersions(t, r.status(t), map[string]string{"rootfs": "7/idle"})
	rec := strings.Join(r.srv.Received(), "\n")
	for _, ev := range []string{"report app_upgrade_download", "report app_upgrade_upgrade"} {
		if !strings.Contains(rec, ev) {
			t.Errorf("server did not receive %s; it received:\n%s", ev, rec)
		}
	}
}

// TestE2EForcedIgnoresWindow: outside policy.window a silent offer waits,
// a forced one installs.
func TestE2EForcedIgnoresWindow(t *testing.T) {
	img := demo.Image(6, 64<<10)
	for _, tt := range []struct {
		typ  string
		want policy.Action
	}{{"silent", policy.Hold}, {"forced", policy.Install}} {
		t.Run(tt.typ, func(t *testing.T) {
			r := newE2E(t, "upgradelink", demo.ConfigOptions{Components: []string{"rootfs"}, Versions: map[string]string{"rootfs": "6"},
				Policy: []string{`version_scheme = "numeric"`, `window = "` + windowNotNow() + `"`}}, demo.DeviceOptions{})
			r.publish(t, demo.Firmware{Component: "rootfs", Version: "7", Data: img, UpgradeType: tt.typ})
			got := r.check(t)
			if len(got.Decisions) != 1 || got.Decisions[0].Action != tt.want {
				t.Fatalf("%s offer outside the window: decisions %+v, want %s", tt.typ, got.Decisions, tt.want)
			}
		})
	}
}

// TestE2EFailedVersionNeverRetried: a wrong MD5 fails the MCU install
// without flashing, the version goes on the failed list, and the next
// update neither downloads nor installs it again.
func TestE2EFailedVersionNeverRetried(t *testing.T) {
	mcu := demo.Image(7, 4096)
	r := newE2E(t, "mxchip", demo.ConfigOptions{Components: []string{"mcu", "wifi"}}, demo.DeviceOptions{})
	r.publish(t, demo.Firmware{Component: "mcu", Version: "1.1.0", Data: mcu, MD5: strings.Repeat("0", 32)})
	if res := r.run(t, "update"); res.code != 1 || !strings.Contains(res.stdout+res.stderr, "md5") {
		t.Fatalf("update with a wrong MD5: exit %d, want 1 naming the MD5\n%s%s", res.code, res.stdout, res.stderr)
	}
	st := r.status(t)["mcu"]
	if st.Version != "1.0.0" || !slices.Contains(st.FailedVersions, "1.1.0") {
		t.Errorf("mcu after a digest mismatch: version %s, failed %v; want 1.0.0 with 1.1.0 failed", st.Version, st.FailedVersions)
	}
	if f := r.dev.MCU.Flash()[:len(mcu)]; !bytes.Equal(f, bytes.Repeat([]byte{0xFF}, len(mcu))) {
		t.Errorf("MCU flash was touched by an unverified image")
	}
	fetches := countFetches(r.srv.Received(), "/files/mcu-")
	out := r.must(t, "update")
	if !strings.Contains(out, "mcu 1.1.0: skip") || !strings.Contains(out, "failed") {
		t.Errorf("second update: %s", out)
	}
	if n := countFetches(r.srv.Received(), "/files/mcu-"); n != fetches {
		t.Errorf("the failed version was downloaded again (%d fetches, then %d)", fetches, n)
	}
}

// TestE2ERollback: the new slot never commits, the bootloader falls back,
// and `commit` says so; the version is on the failed list and not
// offered again.
func TestE2ERollback(t *testing.T) {
	img := demo.Image(8, 512<<10)
	r := newE2E(t, "mxchip", demo.ConfigOptions{Components: []string{"rootfs", "mcu", "wifi"}}, demo.DeviceOptions{})
	url := r.srv.Host("rootfs-2.0.0.bin", img)
	r.must(t, "install", "--component", "rootfs", "--md5", md5of(img), "--version", "2.0.0", url)
	var slot string
	for range 4 { // three attempts on B, then the fallback
		slot = r.boot(t)
	}
	if slot != "A" {
		t.Fatalf("after 4 failed boots the bootloader booted %s, want A", slot)
	}
	res := r.run(t, "commit")
	if res.code != 1 || !strings.Contains(res.stdout+res.stderr, "rolled back") {
		t.Errorf("commit after fallback: exit %d: %s%s", res.code, res.stdout, res.stderr)
	}
	st := r.status(t)["rootfs"]
	if st.Version != "1.0.0" || !slices.Contains(st.FailedVersions, "2.0.0") {
		t.Errorf("rootfs after rollback: version %s, failed %v", st.Version, st.FailedVersions)
	}
}

func countFetches(lines []string, prefix string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "GET "+prefix) {
			n++
		}
	}
	return n
}

// TestE2EDaemonResolvesAtStart: after the reboot into the new slot, the
// daemon (`ota-agent run`) commits the pending install at start and the
// MXChip server gets the version report; SIGTERM stops it with exit 0.
func TestE2EDaemonResolvesAtStart(t *testing.T) {
	img := demo.Image(9, 256<<10)
	r := newE2E(t, "mxchip", demo.ConfigOptions{Components: []string{"rootfs", "mcu", "wifi"}}, demo.DeviceOptions{})
	url := r.srv.Host("rootfs-2.0.0.bin", img)
	r.must(t, "install", "--component", "rootfs", "--md5", md5of(img), "--version", "2.0.0", url)
	if slot := r.boot(t); slot != "B" {
		t.Fatalf("booted %s, want B", slot)
	}
	cmd := exec.Command(bin, "-c", r.cfg, "--log-level", "warn", "run")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for done := false; !done; {
		select {
		case <-tick.C:
			st := r.status(t)["rootfs"]
			done = st.Version == "2.0.0" && st.Phase == "idle"
		case <-deadline.C:
			_ = cmd.Process.Kill()
			t.Fatalf("the daemon did not commit within 20s; status: %s\nstderr: %s", r.run(t, "status").stdout, stderr.String())
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("daemon after SIGTERM: %v, want exit 0\n%s", err, stderr.String())
	}
	if rec := strings.Join(r.srv.Received(), "\n"); !strings.Contains(rec, "PUT /api/v1/ota/version/") {
		t.Errorf("no version report after the commit; server received:\n%s", rec)
	}
}

// wantWiFi checks that the MXChip module received exactly one file by
// FWUPDATE and that it is img.
func wantWiFi(t *testing.T, r *e2eRig, img []byte) {
	t.Helper()
	files := r.dev.WiFi.Files()
	if len(files) != 1 {
		t.Fatalf("MXChip module received %d files, want 1", len(files))
	}
	f := files[0]
	if f.Command != "FWUPDATE" || f.Size != int64(len(img)) || !bytes.Equal(f.Data, img) {
		t.Errorf("MXChip module got %q by %q, block 0 size %d, md5 %s; want size %d, md5 %s by FWUPDATE",
			f.Name, f.Command, f.Size, md5of(f.Data), len(img), md5of(img))
	}
}
