package main_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ota-agent/agent/demo"
	"ota-agent/platform/peertest"
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

// TestE2ESimulateYModemSB: the real lrzsz `sb --ymodem` sends into
// `ota-agent simulate ymodem --pty PATH --cli=false` through the link, in
// both modes, with and without -k, with seeded faults; the simulator prints
// the file and saves it with the exact bytes.
func TestE2ESimulateYModemSB(t *testing.T) {
	sb := peertest.Need(t, "sb", "lrzsz")
	for _, tt := range []struct {
		name string
		size int
		sim  []string
		sb   []string
	}{
		{"strict/-k/faults", 5*1024 + 100, []string{"--mode", "strict", "--fault", "nak:2", "--fault", "corrupt:4"}, []string{"-k"}},
		{"lenient/128", 2048 + 7, []string{"--mode", "lenient"}, nil},
		{"strict/1KiB-multiple", 4 * 1024, []string{"--mode", "strict", "--seed", "5", "--faults", "0.2"}, []string{"-k"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			link, save, src := filepath.Join(dir, "ttyYM"), filepath.Join(dir, "got"), filepath.Join(dir, "fw.bin")
			img := demo.Image(uint64(tt.size), tt.size)
			if err := os.WriteFile(src, img, 0o644); err != nil {
				t.Fatal(err)
			}
			var simOut bytes.Buffer
			sim := exec.Command(bin, append([]string{"simulate", "ymodem", "--pty", link, "--cli=false", "--save", save}, tt.sim...)...)
			sim.Stdout = &simOut
			if err := sim.Start(); err != nil {
				t.Fatal(err)
			}
			defer sim.Process.Kill()
			waitFor(t, link)
			runSB(t, sb, link, append(tt.sb, src)...)
			waitFor(t, filepath.Join(save, "fw.bin"))
			_ = sim.Process.Signal(syscall.SIGINT)
			if err := sim.Wait(); err != nil {
				t.Errorf("simulate after SIGINT: %v, want exit 0", err)
			}
			if got := readFile(t, filepath.Join(save, "fw.bin")); !bytes.Equal(got, img) {
				t.Errorf("simulator saved %d bytes md5 %s, want %d bytes md5 %s", len(got), md5of(got), len(img), md5of(img))
			}
			if !strings.Contains(simOut.String(), `received "fw.bin": `) {
				t.Errorf("simulator did not say what it received:\n%s", simOut.String())
			}
		})
	}
}

// runSB runs sb --ymodem with stdin and stdout on the pty at link, killed
// after a minute.
func runSB(t *testing.T, sb, link string, args ...string) {
	t.Helper()
	tty, err := os.OpenFile(link, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, sb, append([]string{"--ymodem"}, args...)...)
	cmd.Stdin, cmd.Stdout = tty, tty
	cmd.WaitDelay = time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("sb %v: %v; sb said:\n%s", args, err, stderr.String())
	}
}
