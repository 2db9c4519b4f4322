package agent_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"ota-agent/agent"
	"ota-agent/agent/state"
	"ota-agent/flasher/ab"
	"ota-agent/transport"
	"ota-agent/transport/akaso/akasotest"
)

// The hostile-input suite of the install path (issue 13): each case states
// the exact outcome, from the target's bytes to the boot environment.

const pkgDir = "../testdata/packages"

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(pkgDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return strings.ToUpper(hex.EncodeToString(s[:]))
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// zipOf builds a zip whose files are written in the order given.
func zipOf(t *testing.T, files ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, f := range files {
		fw, err := w.CreateHeader(&zip.FileHeader{Name: f[0], Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		fw.Write([]byte(f[1]))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipOf(b []byte) []byte {
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	z.Write(b)
	z.Close()
	return buf.Bytes()
}

// offerPackage publishes version as pkg under name, with md5hex ("" = none).
func (r *abRig) offerPackage(version, name string, pkg []byte, md5 string) {
	u := r.srv.AddFile(name, pkg)
	r.srv.SetEntries([]akasotest.Entry{{UID: "1", Model: "M", VersionName: version, Src: u, MD5Check: md5, FileSize: "300KB"}})
}

func (r *abRig) vars() map[string]string {
	r.t.Helper()
	v, err := r.rig.Vars(r.t.Context())
	if err != nil {
		r.t.Fatal(err)
	}
	return v
}

func (r *abRig) slot(name string) []byte {
	b, err := os.ReadFile(r.rig.Config.Slots[name])
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

// TestHostilePackagesIntoAB: every package format offered for an ab
// component ends with the unpacked image in slot B, read back and armed;
// never the package bytes.
func TestHostilePackagesIntoAB(t *testing.T) {
	img := fixture(t, "rootfs.img")
	for _, name := range []string{"rootfs.img", "rootfs.img.gz", "rootfs.img.xz", "rootfs.img.zst", "single.zip", "manifest.zip", "20230217 V2.0.zip"} {
		t.Run(name, func(t *testing.T) {
			r := newABRig(t, "rauc", [][]string{{"true"}})
			file := name
			if name == "20230217 V2.0.zip" { // AKASO's own naming, space and all
				file = "single.zip"
			}
			pkg := fixture(t, file)
			r.offerPackage("2.0.0", name, pkg, md5hex(pkg))
			_, outs, err := r.ag.Update(t.Context(), agent.UpdateOptions{})
			if err != nil || len(outs) != 1 || outs[0].Phase != "rebooting" {
				t.Fatalf("Update = %+v, %v; want one install left rebooting", outs, err)
			}
			if got := r.slot("B"); !bytes.Equal(got[:len(img)], img) {
				t.Fatalf("slot B does not start with the unpacked image (first bytes %x)", got[:8])
			}
			if v := r.vars(); v[ab.VarBootOrder] != "B A" || v[ab.LeftVar("B")] != "3" {
				t.Errorf("env after install: BOOT_ORDER=%q BOOT_B_LEFT=%q, want \"B A\" and 3", v[ab.VarBootOrder], v[ab.LeftVar("B")])
			}
			if ents, _ := os.ReadDir(filepath.Join(r.cfg.Device.StateDir, "download")); len(ents) != 0 {
				t.Errorf("download directory keeps %d files after the install", len(ents))
			}
		})
	}
}

// TestHostileBombIntoAB: a gzip that inflates past the slot fails while
// inflating; the slot is not armed and the version is failed.
func TestHostileBombIntoAB(t *testing.T) {
	r := newABRig(t, "rauc", [][]string{{"true"}})
	before := r.vars()
	bomb := gzipOf(make([]byte, 4<<20)) // 4 MiB of zeros into a 1 MiB slot: about 4 KiB on the wire
	r.offerPackage("2.0.0", "rootfs.img.gz", bomb, md5hex(bomb))
	_, outs, err := r.ag.Update(t.Context(), agent.UpdateOptions{})
	if err == nil || !strings.Contains(err.Error(), "unpacks to more than 1048576 bytes (the size of slot B)") {
		t.Fatalf("Update = %v, want the slot-size cap named", err)
	}
	if len(outs) != 1 || outs[0].Phase != "failed" {
		t.Errorf("outcome = %+v, want failed", outs)
	}
	if after := r.vars(); after[ab.VarBootOrder] != before[ab.VarBootOrder] || after[ab.LeftVar("B")] != before[ab.LeftVar("B")] {
		t.Errorf("env changed by a refused package: %v → %v", before, after)
	}
	if c := r.comp(); !c.IsFailed("2.0.0") {
		t.Errorf("version not failed after a bomb: %+v", c)
	}
}

// TestHostileNoDigestIntoAB: an offer without any digest is written but
// never armed, unless download.allow_unverified says so.
func TestHostileNoDigestIntoAB(t *testing.T) {
	img := fixture(t, "rootfs.img")
	r := newABRig(t, "rauc", [][]string{{"true"}})
	before := r.vars()
	// AKASO always gives md5check; an UpgradeLink file offer or a URL given
	// to `ota-agent install` may give no digest at all.
	of := transport.Offer{Component: "rootfs", Version: "2.0.0", URL: r.srv.AddFile("rootfs.img", img)}
	out := r.ag.Install(t.Context(), of)
	err := out.Err
	if err == nil || !strings.Contains(err.Error(), "no digest to check the image against") || !strings.Contains(err.Error(), "download.allow_unverified = true") {
		t.Fatalf("Update = %v, want the missing digest and the opt-in named", err)
	}
	if after := r.vars(); after[ab.VarBootOrder] != before[ab.VarBootOrder] {
		t.Errorf("slot armed without a digest: BOOT_ORDER %q → %q", before[ab.VarBootOrder], after[ab.VarBootOrder])
	}

	r2 := newABRig(t, "rauc", [][]string{{"true"}})
	r2.cfg.Download.AllowUnverified = true
	r2.open()
	of.URL = r2.srv.AddFile("rootfs.img", img)
	if out := r2.ag.Install(t.Context(), of); out.Err != nil || out.Phase != "rebooting" {
		t.Fatalf("with allow_unverified: %+v; want armed", out)
	}
}

// TestHostileFailingRebootCommand: a reboot command that fails leaves the
// install armed and pending; after the operator reboots it is committed
// with the new version.
func TestHostileFailingRebootCommand(t *testing.T) {
	r := newABRig(t, "rauc", [][]string{{"true"}})
	r.cfg.Components[0].AB.Reboot = []string{"false"}
	r.open()
	_, outs, err := r.ag.Update(t.Context(), agent.UpdateOptions{})
	if err == nil || !strings.Contains(err.Error(), "reboot the device by hand") {
		t.Fatalf("Update = %v, want the failed reboot named", err)
	}
	if len(outs) != 1 || outs[0].Phase != "rebooting" {
		t.Fatalf("outcome = %+v, want rebooting (armed, pending)", outs)
	}
	if c := r.comp(); c.Phase != state.Rebooting || c.IsFailed("2.0.0") || !strings.Contains(c.LastError, "reboot") {
		t.Fatalf("state = phase %s failed %v last error %q; want rebooting, not failed", c.Phase, c.FailedList(), c.LastError)
	}
	if v := r.vars(); v[ab.VarBootOrder] != "B A" {
		t.Errorf("BOOT_ORDER = %q, want the slot still armed", v[ab.VarBootOrder])
	}
	r.boot("B")
	r.open()
	if err := r.ag.Resume(t.Context()); err != nil {
		t.Fatalf("Resume after the operator's reboot: %v", err)
	}
	if c := r.comp(); c.Phase != state.Idle || c.Version != "2.0.0" {
		t.Errorf("after reboot: phase %s version %q, want idle 2.0.0", c.Phase, c.Version)
	}
}

// TestHostileLostStateDuringTrial: state.json is lost while slot B is on
// trial. An unhealthy B keeps fallback slot A untouched; a healthy B is
// committed before A is written.
func TestHostileLostStateDuringTrial(t *testing.T) {
	for _, healthy := range []bool{false, true} {
		t.Run(fmt.Sprintf("healthy=%v", healthy), func(t *testing.T) {
			health := "false"
			if healthy {
				health = "true"
			}
			r := newABRig(t, "rauc", [][]string{{health}})
			r.cfg.Components[0].AB.Health = nil // the first install commits nothing here
			r.open()
			r.update()
			r.boot("B")
			if err := os.Remove(filepath.Join(r.cfg.Device.StateDir, state.FileName)); err != nil {
				t.Fatal(err)
			}
			r.cfg.Components[0].AB.Health = [][]string{{health}}
			r.open()
			slotA := r.slot("A")
			if v := r.vars(); v[ab.LeftVar("B")] == "3" {
				t.Fatalf("B not on trial after its boot: %v", v)
			}
			img := fixture(t, "rootfs.img")
			r.offerPackage("3.0.0", "rootfs.img", img, md5hex(img))
			_, _, err := r.ag.Update(t.Context(), agent.UpdateOptions{})
			if !healthy {
				if err == nil || !strings.Contains(err.Error(), "on trial and not healthy") {
					t.Fatalf("Update = %v, want a refusal naming the trial", err)
				}
				if !bytes.Equal(r.slot("A"), slotA) {
					t.Error("fallback slot A written while B is on trial")
				}
				return
			}
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			v := r.vars()
			if v[ab.VarBootOrder] != "A B" || v[ab.LeftVar("B")] != "3" {
				t.Errorf("env = BOOT_ORDER %q BOOT_B_LEFT %q; want A armed after B was committed (3)", v[ab.VarBootOrder], v[ab.LeftVar("B")])
			}
		})
	}
}

// TestHostileKillDuringReadBack: a restart in `verifying` reads the slot
// back again instead of downloading again; a slot altered meanwhile is
// downloaded again.
func TestHostileKillDuringReadBack(t *testing.T) {
	for _, altered := range []bool{false, true} {
		t.Run(fmt.Sprintf("altered=%v", altered), func(t *testing.T) {
			r := newABRig(t, "rauc", [][]string{{"true"}})
			img := fixture(t, "rootfs.img")
			var gets atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				gets.Add(1)
				w.Write(img)
			}))
			defer srv.Close()
			u := srv.URL + "/rootfs.img"
			r.srv.SetEntries([]akasotest.Entry{{UID: "1", Model: "M", VersionName: "2.0.0", Src: u, MD5Check: md5hex(img), FileSize: "63KB"}})
			// As left by a kill during the read-back: B written in full.
			slotB := r.slot("B")
			copy(slotB, img)
			if altered {
				slotB[100] ^= 0xff
			}
			os.WriteFile(r.rig.Config.Slots["B"], slotB, 0o600)
			st, _ := r.store.Read()
			c := st.Component("rootfs")
			c.Phase, c.TargetVersion, c.Slot = state.Verifying, "2.0.0", "B"
			c.Written = &state.Written{Version: "2.0.0", URL: u, Slot: "B", Size: int64(len(img)), SHA256: sha256hex(img), Proof: "md5 of the package"}
			if err := r.store.Save(st); err != nil {
				t.Fatal(err)
			}
			r.open()
			if err := r.ag.Resume(t.Context()); err != nil {
				t.Fatal(err)
			}
			_, outs, err := r.ag.Update(t.Context(), agent.UpdateOptions{})
			if err != nil || len(outs) != 1 || outs[0].Phase != "rebooting" {
				t.Fatalf("Update = %+v, %v; want armed", outs, err)
			}
			want := int32(0)
			if altered {
				want = 1
			}
			if got := gets.Load(); got != want {
				t.Errorf("downloads after the restart = %d, want %d", got, want)
			}
			if !bytes.Equal(r.slot("B")[:len(img)], img) {
				t.Error("slot B does not hold the image")
			}
		})
	}
}

// TestHostileDigestMismatchOnce: one corrupted transfer downloads again
// from zero and installs; two fail the version.
func TestHostileDigestMismatchOnce(t *testing.T) {
	for _, corrupt := range []int32{1, 2} {
		t.Run(fmt.Sprintf("corrupt=%d", corrupt), func(t *testing.T) {
			r := newABRig(t, "rauc", [][]string{{"true"}})
			img := fixture(t, "rootfs.img")
			var gets atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				b := bytes.Clone(img)
				if gets.Add(1) <= corrupt {
					b[1000] ^= 1
				}
				w.Write(b)
			}))
			defer srv.Close()
			r.srv.SetEntries([]akasotest.Entry{{UID: "1", Model: "M", VersionName: "2.0.0", Src: srv.URL + "/rootfs.img", MD5Check: md5hex(img), FileSize: "63KB"}})
			_, outs, err := r.ag.Update(t.Context(), agent.UpdateOptions{})
			if gets.Load() != 2 {
				t.Errorf("downloads = %d, want 2", gets.Load())
			}
			c := r.comp()
			if corrupt == 1 {
				if err != nil || outs[0].Phase != "rebooting" {
					t.Fatalf("Update = %+v, %v; want armed after the second download", outs, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "md5 mismatch") || !c.IsFailed("2.0.0") {
				t.Fatalf("Update = %v, failed %v; want md5 mismatch and the version failed", err, c.FailedList())
			}
		})
	}
}

// offerPkg publishes a package for the file rig under name, with its md5.
func (r *rig) offerPkg(version, name string, pkg []byte) {
	u := r.srv.AddFile(name, pkg)
	r.srv.SetEntries([]akasotest.Entry{{UID: "101", Model: "TestCam", VersionName: version, Src: u, MD5Check: md5hex(pkg), FileSize: "1KB"}})
}

// TestHostileManifestTraversal: names in a manifest are never paths. A
// component or file name that climbs out, is absolute, holds NUL or a
// backslash, or is very long is refused; the victim is unchanged and
// nothing is created outside the state directory.
func TestHostileManifestTraversal(t *testing.T) {
	content := `{"led": "red"}`
	sum := sha256hex([]byte(content))
	cases := map[string][2]string{ // component, file
		"component dot-dot":   {"../../../../victim/x", "f"},
		"component absolute":  {"/etc/cron.d/x", "f"},
		"component NUL":       {"settings\x00x", "f"},
		"component backslash": {`..\..\victim\x`, "f"},
		"component long":      {strings.Repeat("a", 5000), "f"},
		"file dot-dot":        {"settings", "../../../../victim/x"},
		"file absolute":       {"settings", "/etc/passwd"},
		"file backslash":      {"settings", `..\..\x`},
		"file long":           {"settings", strings.Repeat("d/", 3000) + "f"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, "")
			victimDir := filepath.Join(r.dir, "victim")
			os.MkdirAll(victimDir, 0o755)
			victim := filepath.Join(victimDir, "x-f")
			os.WriteFile(victim, []byte("precious"), 0o644)
			man := fmt.Sprintf(`{"images":[{"component":%q,"version":"1.1.0","file":%q,"sha256":%q}]}`, c[0], c[1], sum)
			r.offerPkg("1.1.0", "pkg.zip", zipOf(t, [2]string{"manifest.json", man}, [2]string{"f", content}))
			_, _, err := r.ag.Update(t.Context(), agent.UpdateOptions{})
			if err == nil {
				t.Fatal("Update accepted a hostile manifest")
			}
			if b, _ := os.ReadFile(victim); string(b) != "precious" {
				t.Errorf("victim changed: %q", b)
			}
			if ents, _ := os.ReadDir(victimDir); len(ents) != 1 {
				t.Errorf("victim directory holds %d files, want 1", len(ents))
			}
			if _, err := os.Stat(r.target); err == nil {
				t.Error("target written from a hostile package")
			}
			if strings.ContainsAny(err.Error(), "\x00") {
				t.Errorf("error carries a raw NUL: %q", err)
			}
		})
	}
}

// TestHostilePackagesIntoStaging: every format offered for a staged (file)
// component installs the unpacked image; a manifest with several images
// installs this component's and names the others skipped.
func TestHostilePackagesIntoStaging(t *testing.T) {
	img := fixture(t, "rootfs.img")
	for _, name := range []string{"rootfs.img.gz", "rootfs.img.xz", "rootfs.img.zst", "single.zip"} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, "")
			r.offerPkg("1.1.0", name, fixture(t, name))
			if _, outs, err := r.ag.Update(t.Context(), agent.UpdateOptions{}); err != nil || outs[0].Phase != "idle" {
				t.Fatalf("Update = %+v, %v", outs, err)
			}
			if got, _ := os.ReadFile(r.target); !bytes.Equal(got, img) {
				t.Errorf("target holds %d bytes, want the %d-byte unpacked image", len(got), len(img))
			}
		})
	}
	t.Run("manifest with several images", func(t *testing.T) {
		r := newRig(t, "")
		a, b := `{"a":1}`, "mcu firmware"
		man := fmt.Sprintf(`{"images":[{"component":"settings","version":"1.1.0","file":"s.json","sha256":%q},{"component":"mcu","version":"2.0","file":"m.bin","sha256":%q}]}`, sha256hex([]byte(a)), sha256hex([]byte(b)))
		r.offerPkg("1.1.0", "pkg.zip", zipOf(t, [2]string{"manifest.json", man}, [2]string{"s.json", a}, [2]string{"m.bin", b}))
		if _, _, err := r.ag.Update(t.Context(), agent.UpdateOptions{}); err != nil {
			t.Fatalf("Update: %v", err)
		}
		if got, _ := os.ReadFile(r.target); string(got) != a {
			t.Errorf("target = %q, want %q", got, a)
		}
		if ents, _ := os.ReadDir(filepath.Join(r.cfg.Device.StateDir, "download")); len(ents) != 0 {
			t.Errorf("download directory keeps %d files", len(ents))
		}
	})
	t.Run("manifest after several images", func(t *testing.T) {
		r := newRig(t, "")
		man := fmt.Sprintf(`{"images":[{"component":"settings","version":"1.1.0","file":"s.json","sha256":%q}]}`, sha256hex([]byte("x")))
		r.offerPkg("1.1.0", "pkg.zip", zipOf(t, [2]string{"m.bin", "y"}, [2]string{"s.json", "x"}, [2]string{"manifest.json", man}))
		if _, _, err := r.ag.Update(t.Context(), agent.UpdateOptions{}); err == nil || !strings.Contains(err.Error(), "manifest.json first") {
			t.Fatalf("Update = %v, want manifest.json first asked for", err)
		}
		if _, err := os.Stat(r.target); err == nil {
			t.Error("target written")
		}
	})
}

// TestHostileBombIntoStaging: an image that inflates past download.max_size
// fails while inflating; the target is untouched and staging is emptied.
func TestHostileBombIntoStaging(t *testing.T) {
	for _, kind := range []string{"gzip", "zip"} {
		t.Run(kind, func(t *testing.T) {
			r := newRig(t, "")
			r.cfg.Download.MaxSize = 1 << 20
			r.open()
			zeros := string(make([]byte, 16<<20))
			var pkg []byte
			name := "bomb.gz"
			if kind == "gzip" {
				pkg = gzipOf([]byte(zeros))
			} else {
				pkg, name = zipOf(t, [2]string{"bomb.img", zeros}), "bomb.zip"
			}
			r.offerPkg("1.1.0", name, pkg)
			_, _, err := r.ag.Update(t.Context(), agent.UpdateOptions{})
			if err == nil || !strings.Contains(err.Error(), "unpacks to more than 1048576 bytes (download.max_size)") {
				t.Fatalf("Update = %v, want download.max_size named", err)
			}
			if _, err := os.Stat(r.target); err == nil {
				t.Error("target written from a bomb")
			}
			if ents, _ := os.ReadDir(filepath.Join(r.cfg.Device.StateDir, "download")); len(ents) != 0 {
				t.Errorf("download directory keeps %d files after the failed version", len(ents))
			}
			if c := r.state().Components["settings"]; !c.IsFailed("1.1.0") {
				t.Errorf("bomb not on the failed list: %+v", c)
			}
		})
	}
}

// TestEstimateTooLargeWording: an AKASO size estimate larger than the slot
// is called an estimate, not an exact size (issue 16, item 17).
func TestEstimateTooLargeWording(t *testing.T) {
	r := newABRig(t, "rauc", nil)
	img := fixture(t, "rootfs.img")
	u := r.srv.AddFile("big.img", img)
	r.srv.SetEntries([]akasotest.Entry{{UID: "1", Model: "M", VersionName: "2.0.0", Src: u, MD5Check: md5hex(img), FileSize: "2MB"}})
	_, _, err := r.ag.Update(t.Context(), agent.UpdateOptions{})
	if err == nil || !strings.Contains(err.Error(), "the offer estimates the image at about 2097152 bytes (2202009 with the 5% margin), more than the slot holds") {
		t.Fatalf("Update = %v", err)
	}
}

// TestRebootKilledByShutdown: a reboot command that the shutdown itself
// kills (SIGTERM) is not an error; the install stays armed.
func TestRebootKilledByShutdown(t *testing.T) {
	r := newABRig(t, "rauc", nil)
	r.cfg.Components[0].AB.Reboot = []string{"sh", "-c", "kill -TERM $$"}
	r.open()
	if _, outs, err := r.ag.Update(t.Context(), agent.UpdateOptions{}); err != nil || outs[0].Phase != state.Rebooting {
		t.Fatalf("Update = %+v, %v; want armed with no error", outs, err)
	}
	if c := r.comp(); c.LastError != "" {
		t.Errorf("last error %q, want none", c.LastError)
	}
}
