package agent_test

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ota-agent/agent"
	"ota-agent/agent/config"
	"ota-agent/agent/state"
	"ota-agent/flasher"
	"ota-agent/flasher/ab"
	"ota-agent/flasher/ab/abtest"
	"ota-agent/transport/akaso/akasotest"
)

// abRig is an agent with an ab component on an abtest rig (file slots, a
// real U-Boot environment) fed by a fake AKASO server.
type abRig struct {
	t     *testing.T
	rig   *abtest.Rig
	srv   *akasotest.Server
	cfg   *config.Config
	store *state.Store
	ag    *agent.Agent
	image []byte
}

func newABRig(t *testing.T, scheme string, health [][]string) *abRig {
	t.Helper()
	dir := t.TempDir()
	rig, err := abtest.NewRig(dir, abtest.RigConfig{Bootloader: "uboot", Scheme: scheme, SlotSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	r := &abRig{t: t, rig: rig, image: make([]byte, 300<<10)}
	rand.Read(r.image)
	r.srv = akasotest.NewServer(akasotest.Options{})
	t.Cleanup(r.srv.Close)
	u := r.srv.AddFile("rootfs-2.0.0.img", r.image)
	sum := md5.Sum(r.image)
	r.srv.SetEntries([]akasotest.Entry{{UID: "1", Model: "M", VersionName: "2.0.0", Src: u, MD5Check: hex.EncodeToString(sum[:]), FileSize: "300KB"}})
	r.cfg = &config.Config{
		Device:   config.Device{ID: "cam", Model: "M", StateDir: filepath.Join(dir, "state")},
		Server:   config.Server{API: "akaso", BaseURL: r.srv.BaseURL, InsecureHTTP: true, Akaso: config.Akaso{Component: "rootfs"}},
		Policy:   config.Policy{VersionScheme: "auto", DefaultUpgradeType: "silent", Prompt: "hold", MaxAttempts: 3},
		Download: config.Download{MaxRetries: 1},
		Components: []config.Component{{Name: "rootfs", Type: "ab", Version: "1.0.0",
			AB: &config.AB{Slots: rig.Config.Slots, Scheme: scheme, Health: health, CmdlineFile: rig.Config.CmdlineFile}}},
	}
	r.open()
	return r
}

// open builds the agent afresh, as after a reboot.
func (r *abRig) open() {
	t := r.t
	if r.store != nil {
		r.store.Unlock()
	}
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	store, err := state.Open(r.cfg.Device.StateDir, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Lock(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Unlock() })
	c := r.rig.Config
	c.Log = log
	tg, err := ab.New(c)
	if err != nil {
		t.Fatal(err)
	}
	hc, _ := agent.NewHTTPClient(r.cfg)
	api, _ := agent.NewAPI(r.cfg, hc, log)
	r.store = store
	r.ag, err = agent.New(agent.Options{Config: r.cfg, Store: store, API: api, HTTP: hc, Log: log,
		Targets: agent.Targets{AB: map[string]flasher.ABTarget{"rootfs": tg}}})
	if err != nil {
		t.Fatal(err)
	}
}

func (r *abRig) comp() *state.Component {
	st, err := r.store.Read()
	if err != nil {
		r.t.Fatal(err)
	}
	return st.Component("rootfs")
}

func (r *abRig) update() {
	r.t.Helper()
	_, outs, err := r.ag.Update(r.t.Context(), agent.UpdateOptions{})
	if err != nil || len(outs) != 1 || outs[0].Phase != "rebooting" {
		r.t.Fatalf("Update = %+v, %v; want one install left rebooting", outs, err)
	}
	if c := r.comp(); c.Phase != state.Rebooting || c.Slot != "B" || c.TargetVersion != "2.0.0" {
		r.t.Fatalf("state after install = %+v", c)
	}
	slot, _ := os.ReadFile(r.rig.Config.Slots["B"])
	if !bytes.Equal(slot[:len(r.image)], r.image) {
		r.t.Fatal("slot B does not hold the image")
	}
}

func (r *abRig) boot(want string) {
	r.t.Helper()
	got, err := r.rig.Boot(r.t.Context())
	if err != nil || got != want {
		r.t.Fatalf("Boot = %s, %v; want %s", got, err, want)
	}
}

func TestABInstallRebootCommit(t *testing.T) {
	r := newABRig(t, "rauc", [][]string{{"true"}})
	r.update()
	r.boot("B")
	r.open()
	if err := r.ag.Resume(t.Context()); err != nil {
		t.Fatalf("Resume after booting B: %v", err)
	}
	if c := r.comp(); c.Phase != state.Idle || c.Version != "2.0.0" || len(c.Failed) != 0 {
		t.Fatalf("after commit: %+v", c)
	}
	vars, _ := r.rig.Vars(t.Context())
	if vars[ab.LeftVar("B")] != "3" {
		t.Errorf("BOOT_B_LEFT = %q after commit, want 3 (counter reset)", vars[ab.LeftVar("B")])
	}
	r.boot("B") // committed: B stays
}

func TestABBootloaderRolledBack(t *testing.T) {
	r := newABRig(t, "mender", nil)
	r.update()
	r.boot("B") // first boot of the new slot: the agent never got to commit
	r.boot("A") // bootlimit reached: the bootloader falls back
	r.open()
	_, err := r.ag.Commit(t.Context())
	if !errors.Is(err, agent.ErrRolledBack) || !strings.Contains(err.Error(), "booted slot A, not B") {
		t.Fatalf("Commit = %v, want ErrRolledBack naming the slots", err)
	}
	c := r.comp()
	if c.Phase != state.Failed || !c.IsFailed("2.0.0") {
		t.Fatalf("after rollback: %+v", c)
	}
	// Not offered again.
	res, outs, _ := r.ag.Update(t.Context(), agent.UpdateOptions{})
	if len(outs) != 0 || res.Decisions[0].Action != "skip" {
		t.Errorf("after rollback Update = %+v %+v, want skip", res.Decisions, outs)
	}
}

func TestABHealthFailureRollsBack(t *testing.T) {
	r := newABRig(t, "rauc", [][]string{{"false"}})
	r.update()
	r.boot("B")
	r.open()
	if err := r.ag.Resume(t.Context()); err == nil || !strings.Contains(err.Error(), "health command") {
		t.Fatalf("Resume = %v, want a health failure", err)
	}
	if c := r.comp(); !c.IsFailed("2.0.0") || c.Version == "2.0.0" {
		t.Fatalf("after failed health: %+v", c)
	}
	r.boot("A") // rolled back: the old slot boots next
}

func TestABOperatorRollbackBeforeReboot(t *testing.T) {
	r := newABRig(t, "rauc", nil)
	r.update()
	msg, err := r.ag.Rollback(t.Context())
	if err != nil || !strings.Contains(msg, "rolled back") {
		t.Fatalf("Rollback = %q, %v", msg, err)
	}
	r.boot("A")
	if c := r.comp(); !c.IsFailed("2.0.0") {
		t.Errorf("after rollback: %+v", c)
	}
}

func TestABInterruptedInstallingDisarms(t *testing.T) {
	r := newABRig(t, "rauc", nil)
	r.update()
	// Pretend the agent died right after Arm, before persisting rebooting.
	st, _ := r.store.Read()
	st.Component("rootfs").Phase = state.Installing
	if err := r.store.Save(st); err != nil {
		t.Fatal(err)
	}
	r.open()
	if err := r.ag.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	r.boot("A") // disarmed: a reboot does not land in the half-installed slot
	if c := r.comp(); c.Phase != state.Idle {
		t.Errorf("after Resume: %+v", c)
	}
}

// TestABDaemonPollWaitsForOperatorReboot: with an empty ab.reboot the
// daemon's next polls neither judge the armed slot nor install again.
func TestABDaemonPollWaitsForOperatorReboot(t *testing.T) {
	r := newABRig(t, "rauc", nil)
	r.update()
	_, outs, err := r.ag.Update(t.Context(), agent.UpdateOptions{NoResolve: true})
	if err != nil || len(outs) != 0 {
		t.Fatalf("poll while armed = %+v, %v; want nothing done", outs, err)
	}
	if c := r.comp(); c.Phase != state.Rebooting || c.IsFailed("2.0.0") {
		t.Fatalf("after poll: %+v, want still rebooting", c)
	}
	r.boot("B")
	r.open()
	if err := r.ag.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	if c := r.comp(); c.Version != "2.0.0" {
		t.Errorf("after reboot and start: %+v", c)
	}
}

// TestABRestartBeforeReboot: an agent restarted in the same boot as the arm
// (operator reboot pending) must not take the old slot for a rollback.
func TestABRestartBeforeReboot(t *testing.T) {
	r := newABRig(t, "rauc", nil)
	r.update()
	r.open() // restart, no reboot
	if err := r.ag.Resume(t.Context()); !errors.Is(err, agent.ErrNotRebooted) {
		t.Fatalf("Resume before the reboot = %v, want ErrNotRebooted", err)
	}
	if c := r.comp(); c.Phase != state.Rebooting || c.IsFailed("2.0.0") {
		t.Fatalf("after restart without reboot: %+v, want still rebooting and not failed", c)
	}
	r.boot("B")
	r.open()
	if err := r.ag.Resume(t.Context()); err != nil {
		t.Fatalf("Resume after the reboot: %v", err)
	}
	if c := r.comp(); c.Version != "2.0.0" || c.Phase != state.Idle {
		t.Errorf("after reboot: %+v, want 2.0.0 committed", c)
	}
}

// TestABMarkGoodEveryStart: the RAUC boot script counts the running slot
// down on every boot; the daemon's start marks it good again, or after
// ab.attempts boots the bootloader would give it up.
func TestABMarkGoodEveryStart(t *testing.T) {
	r := newABRig(t, "rauc", [][]string{{"true"}})
	for boot := range 5 {
		r.boot("A")
		vars, _ := r.rig.Vars(t.Context())
		if vars[ab.LeftVar("A")] == "3" {
			t.Fatalf("boot %d: BOOT_A_LEFT = 3 after a boot, want it counted down", boot)
		}
		r.open()
		if err := r.ag.MarkGood(t.Context()); err != nil {
			t.Fatal(err)
		}
		vars, _ = r.rig.Vars(t.Context())
		if got := vars[ab.LeftVar("A")]; got != "3" {
			t.Fatalf("boot %d: BOOT_A_LEFT = %q after MarkGood, want 3", boot, got)
		}
	}

	r2 := newABRig(t, "rauc", [][]string{{"false"}})
	r2.boot("A")
	if err := r2.ag.MarkGood(t.Context()); err == nil {
		t.Error("MarkGood with a failing health command = nil, want an error")
	}
}
