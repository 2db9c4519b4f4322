package agent_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ota-agent/agent"
	"ota-agent/agent/config"
	"ota-agent/agent/state"
	"ota-agent/flasher"
	"ota-agent/flasher/ab"
	"ota-agent/transport"
)

// fakeMCU is a serial target in memory: it holds what was last flashed,
// and refuses images for which fail says so (a simulator that says no).
type fakeMCU struct {
	mu      sync.Mutex
	content []byte
	fail    func(img []byte) error
	writes  int
}

func (f *fakeMCU) Install(ctx context.Context, img flasher.Image, _ flasher.Progress) error {
	b := make([]byte, img.Size)
	if _, err := img.R.ReadAt(b, 0); err != nil && err != io.EOF {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	if f.fail != nil {
		if err := f.fail(b); err != nil {
			f.content = b[:len(b)/2] // half-written, as a device that failed mid-way
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		f.content = b[:len(b)/3]
		return err
	}
	f.content = b
	return nil
}

func (f *fakeMCU) holds() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return bytes.Clone(f.content)
}

// setRig is an A/B rootfs with two serial parts, mcu and wifi, whose last
// good images (v1) are kept.
type setRig struct {
	*abRig
	mcu, wifi *fakeMCU
	old, new  map[string][]byte
	health    string // a file: health passes while it exists
}

func newSetRig(t *testing.T) *setRig {
	r := &setRig{abRig: newABRig(t, "rauc", nil), mcu: &fakeMCU{}, wifi: &fakeMCU{}}
	r.old = map[string][]byte{"mcu": []byte(strings.Repeat("mcu-v1 ", 500)), "wifi": []byte(strings.Repeat("wifi-v1 ", 900))}
	r.new = map[string][]byte{"rootfs": fixture(t, "rootfs.img"), "mcu": []byte(strings.Repeat("mcu-v2 ", 600)), "wifi": []byte(strings.Repeat("wifi-v2 ", 1000))}
	r.mcu.content, r.wifi.content = r.old["mcu"], r.old["wifi"]
	r.health = filepath.Join(t.TempDir(), "healthy")
	os.WriteFile(r.health, nil, 0o600)
	r.cfg.Components[0].AB.Health = [][]string{{"test", "-e", r.health}}
	r.cfg.Components = append(r.cfg.Components,
		config.Component{Name: "wifi", Type: config.KindYModem, Version: "1.0", Port: "/dev/ttyS2"},
		config.Component{Name: "mcu", Type: config.KindSTM32, Version: "1.0", Port: "/dev/ttyS1"})
	r.cfg.Download.KeepMax = 1 << 20
	for _, n := range []string{"mcu", "wifi"} {
		os.MkdirAll(filepath.Join(r.cfg.Device.StateDir, "kept"), 0o700)
		os.WriteFile(filepath.Join(r.cfg.Device.StateDir, "kept", n+".img"), r.old[n], 0o600)
	}
	r.reopen()
	return r
}

// reopen builds the agent afresh with the fake serial targets.
func (r *setRig) reopen() {
	r.open()
	log := slog.New(slog.NewTextHandler(r.t.Output(), nil))
	c := r.rig.Config
	c.Log = log
	tg, err := ab.New(c)
	if err != nil {
		r.t.Fatal(err)
	}
	hc, _ := agent.NewHTTPClient(r.cfg)
	api, _ := agent.NewAPI(r.cfg, hc, log)
	r.ag, err = agent.New(agent.Options{Config: r.cfg, Store: r.store, API: api, HTTP: hc, Log: log,
		Targets: agent.Targets{AB: map[string]flasher.ABTarget{"rootfs": tg}, Images: map[string]flasher.Target{"mcu": r.mcu, "wifi": r.wifi}}})
	if err != nil {
		r.t.Fatal(err)
	}
}

// publish offers a package of the three new images (wifi, then mcu).
func (r *setRig) publish() {
	man := fmt.Sprintf(`{"images":[{"component":"rootfs","version":"2.0.0","file":"rootfs.img","sha256":%q},{"component":"wifi","version":"2.0","file":"wifi.bin","sha256":%q},{"component":"mcu","version":"2.0","file":"mcu.bin","sha256":%q}]}`,
		sha256hex(r.new["rootfs"]), sha256hex(r.new["wifi"]), sha256hex(r.new["mcu"]))
	pkg := zipOf(r.t, [2]string{"manifest.json", man}, [2]string{"rootfs.img", string(r.new["rootfs"])}, [2]string{"wifi.bin", string(r.new["wifi"])}, [2]string{"mcu.bin", string(r.new["mcu"])})
	r.offerPackage("2.0.0", "bundle.zip", pkg, md5hex(pkg))
}

// boot reboots into the slot the bootloader picks and restarts the agent.
func (r *setRig) bootAndResume() error {
	if _, err := r.rig.Boot(r.t.Context()); err != nil {
		r.t.Fatal(err)
	}
	r.reopen()
	return r.ag.Resume(r.t.Context())
}

func (r *setRig) version(name string) string {
	st, _ := r.store.Read()
	return st.Component(name).Version
}

// wantAll checks every part holds the images of one release.
func (r *setRig) wantAll(release string) {
	r.t.Helper()
	imgs := r.old
	if release == "new" {
		imgs = r.new
	}
	if !bytes.Equal(r.mcu.holds(), imgs["mcu"]) || !bytes.Equal(r.wifi.holds(), imgs["wifi"]) {
		r.t.Errorf("parts are not all %s: mcu %.7q… (%d bytes), wifi %.8q… (%d bytes)", release, r.mcu.holds(), len(r.mcu.holds()), r.wifi.holds(), len(r.wifi.holds()))
	}
	wantV := map[string]string{"old": "1.0", "new": "2.0"}[release]
	for _, n := range []string{"mcu", "wifi"} {
		if v := r.version(n); v != wantV && !(release == "old" && v == "") {
			r.t.Errorf("%s version in state = %q, want %q", n, v, wantV)
		}
	}
}

// TestSetInstalledAsOne: a three-component package is one update: the
// slot is armed, the parts flashed after the new slot boots, committed
// together, and each version recorded from the manifest.
func TestSetInstalledAsOne(t *testing.T) {
	r := newSetRig(t)
	r.publish()
	_, outs, err := r.ag.Update(t.Context(), agent.UpdateOptions{})
	if err != nil || len(outs) != 1 || outs[0].Phase != state.Rebooting {
		t.Fatalf("Update = %+v, %v; want one install armed", outs, err)
	}
	r.wantAll("old") // parts wait for the new slot's boot
	if err := r.bootAndResume(); err != nil {
		t.Fatalf("Resume after boot: %v", err)
	}
	r.wantAll("new")
	if v := r.version("rootfs"); v != "2.0.0" {
		t.Errorf("rootfs version %q, want 2.0.0", v)
	}
	for _, n := range []string{"mcu", "wifi"} {
		if kept, _ := os.ReadFile(filepath.Join(r.cfg.Device.StateDir, "kept", n+".img")); !bytes.Equal(kept, r.new[n]) {
			t.Errorf("%s: the kept image is not the new one", n)
		}
	}
	if st, _ := r.store.Read(); st.Set != nil {
		t.Errorf("set left in state: %+v", st.Set)
	}
}

// TestSetEachPartFails: each part made to fail in turn; every part changed
// is put back and verified, the slot abandoned, and the one error names
// the part that failed.
func TestSetEachPartFails(t *testing.T) {
	for _, tt := range []struct {
		name string
		prep func(r *setRig)
		want string
	}{
		{"mcu refuses", func(r *setRig) {
			r.mcu.fail = func(b []byte) error {
				if bytes.HasPrefix(b, []byte("mcu-v2")) {
					return errors.New("simulated device refused the image")
				}
				return nil
			}
		}, "mcu 2.0: install mcu 2.0 (stm32): simulated device refused the image; restored mcu 1.0, wifi 1.0"},
		{"wifi refuses", func(r *setRig) {
			r.wifi.fail = func(b []byte) error {
				if bytes.HasPrefix(b, []byte("wifi-v2")) {
					return errors.New("module said Failed!")
				}
				return nil
			}
		}, "wifi 2.0: install wifi 2.0 (ymodem): module said Failed!; restored wifi 1.0"},
		{"health fails", func(r *setRig) { os.Remove(r.health) }, "health check failed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newSetRig(t)
			tt.prep(r)
			r.publish()
			if _, _, err := r.ag.Update(t.Context(), agent.UpdateOptions{}); err != nil {
				t.Fatalf("Update: %v", err)
			}
			err := r.bootAndResume()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Resume = %v, want %q", err, tt.want)
			}
			r.wantAll("old")
			c := r.comp()
			if !c.IsFailed("2.0.0") || !strings.Contains(c.LastError, tt.want) {
				t.Errorf("rootfs: failed %v, last error %q", c.FailedList(), c.LastError)
			}
			if v := r.vars(); !strings.HasPrefix(v[ab.VarBootOrder], "A") {
				t.Errorf("BOOT_ORDER = %q after the failure, want the old slot A first", v[ab.VarBootOrder])
			}
		})
	}
}

// TestSetBootloaderFallsBack: the new slot never comes up; the parts,
// never flashed, stay old and the version is failed.
func TestSetBootloaderFallsBack(t *testing.T) {
	r := newSetRig(t)
	r.publish()
	if _, _, err := r.ag.Update(t.Context(), agent.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for range 4 { // the slot's tries run out without the agent ever starting in it
		if _, err := r.rig.Boot(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	r.reopen()
	err := r.ag.Resume(t.Context())
	if !errors.Is(err, agent.ErrRolledBack) {
		t.Fatalf("Resume = %v, want a rollback", err)
	}
	r.wantAll("old")
	if r.mcu.writes+r.wifi.writes != 0 {
		t.Errorf("parts written %d times, want 0", r.mcu.writes+r.wifi.writes)
	}
}

// TestSetKilledAnywhere: the agent is killed at random instants while
// flashing or restoring the parts; after the restarts every part and the
// slot are all new or all old, never mixed.
func TestSetKilledAnywhere(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("campaign seed %d (set OTA_SET_SEED to replay)", seed)
	if s := os.Getenv("OTA_SET_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	rnd := rand.New(rand.NewPCG(seed, 1))
	for run := range 10 {
		t.Run(fmt.Sprint(run), func(t *testing.T) {
			r := newSetRig(t)
			failMCU := rnd.IntN(2) == 0
			slow := func(b []byte) error {
				time.Sleep(time.Duration(rnd.IntN(3)) * time.Millisecond)
				if failMCU && bytes.HasPrefix(b, []byte("mcu-v2")) {
					return errors.New("refused")
				}
				return nil
			}
			r.mcu.fail, r.wifi.fail = slow, func(b []byte) error { time.Sleep(time.Millisecond); return nil }
			r.publish()
			if _, _, err := r.ag.Update(t.Context(), agent.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := r.rig.Boot(t.Context()); err != nil {
				t.Fatal(err)
			}
			for kill := 0; kill < 3; kill++ {
				r.reopen()
				ctx, cancel := context.WithTimeout(t.Context(), time.Duration(rnd.IntN(4))*time.Millisecond)
				r.ag.Resume(ctx)
				cancel()
			}
			r.reopen()
			r.ag.Resume(t.Context())
			st, _ := r.store.Read()
			if st.Set != nil && st.Set.Step != state.SetArmed {
				t.Fatalf("set still %s after a full restart", st.Set.Step)
			}
			if c := st.Component("rootfs"); c.Phase == state.Rebooting || c.Phase == state.Committing {
				// a rollback left the old slot to boot: boot it and settle
				if err := r.bootAndResume(); err != nil && !errors.Is(err, agent.ErrRolledBack) {
					t.Logf("resume after the rollback boot: %v", err)
				}
			}
			if r.version("rootfs") == "2.0.0" {
				r.wantAll("new")
			} else {
				r.wantAll("old")
			}
		})
	}
}

// offersAPI is an API that offers what it is given.
type offersAPI struct{ offers []transport.Offer }

func (o *offersAPI) Check(context.Context, transport.Device) ([]transport.Offer, error) {
	return o.offers, nil
}
func (o *offersAPI) Report(context.Context, transport.Report) error { return nil }

// TestSetPartNotInstalledMeanwhile: while a set waits for its reboot, an
// offer for one of its parts is deferred, not flashed under it.
func TestSetPartNotInstalledMeanwhile(t *testing.T) {
	r := newSetRig(t)
	r.publish()
	if _, _, err := r.ag.Update(t.Context(), agent.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	img := []byte(strings.Repeat("mcu-v9 ", 100))
	api := &offersAPI{offers: []transport.Offer{{Component: "mcu", Version: "9.0", URL: r.srv.AddFile("mcu9.bin", img), MD5: md5hex(img), Size: int64(len(img))}}}
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	hc, _ := agent.NewHTTPClient(r.cfg)
	tg, _ := ab.New(r.rig.Config)
	ag, err := agent.New(agent.Options{Config: r.cfg, Store: r.store, API: api, HTTP: hc, Log: log,
		Targets: agent.Targets{AB: map[string]flasher.ABTarget{"rootfs": tg}, Images: map[string]flasher.Target{"mcu": r.mcu, "wifi": r.wifi}}})
	if err != nil {
		t.Fatal(err)
	}
	_, outs, err := ag.Update(t.Context(), agent.UpdateOptions{NoResolve: true})
	if err != nil || len(outs) != 0 {
		t.Errorf("Update = %+v, %v; want the mcu offer deferred", outs, err)
	}
	if r.mcu.writes != 0 {
		t.Errorf("mcu written %d times while its set waits for the reboot", r.mcu.writes)
	}
}
