package main_test

// Fault campaigns. `make test` runs a few runs of each; `make stress` many,
// with OTA_E2E_RUNS and OTA_E2E_SEED (printed by every campaign, so a
// failing run can be replayed).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"ota-agent/agent/state"
	"ota-agent/cmd/internal/demo"
	"ota-agent/flasher/esprom/espromtest"
	"ota-agent/flasher/stm32/stm32test"
	"ota-agent/flasher/ymodem/ymodemtest"
	"ota-agent/transport/download/downloadtest"
)

// campaign holds the counts a campaign prints.
type campaign struct {
	name                string
	seed                uint64
	runs, faults, right int
	notes               []string
}

// newCampaign reads OTA_E2E_RUNS (default runs) and OTA_E2E_SEED (default:
// the clock).
func newCampaign(t *testing.T, name string, runs int) (*campaign, *rand.Rand) {
	t.Helper()
	c := &campaign{name: name, seed: uint64(time.Now().UnixNano())}
	if v := os.Getenv("OTA_E2E_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("OTA_E2E_RUNS=%q: want a positive integer", v)
		}
		runs = n
	}
	if v := os.Getenv("OTA_E2E_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("OTA_E2E_SEED=%q: want an unsigned integer", v)
		}
		c.seed = n
	}
	c.runs = runs
	t.Logf("%s campaign: seed %d (replay with OTA_E2E_SEED=%d OTA_E2E_RUNS=%d)", name, c.seed, c.seed, runs)
	t.Cleanup(func() { c.print(t) })
	return c, rand.New(rand.NewPCG(c.seed, 0x07a))
}

func (c *campaign) print(t *testing.T) {
	line := fmt.Sprintf("%s campaign (seed %d): %d runs, %d faults injected, %d of %d ended in a correct state", c.name, c.seed, c.runs, c.faults, c.right, c.runs)
	if len(c.notes) > 0 {
		line += "; " + strings.Join(c.notes, "; ")
	}
	t.Log(line)
	if c.right != c.runs {
		t.Errorf("%s campaign: %d of %d runs ended in a wrong state (seed %d)", c.name, c.runs-c.right, c.runs, c.seed)
	}
}

// TestE2EPowerCuts kills the agent (SIGKILL) at a random instant of a flow
// that streams the rootfs into the inactive A/B slot (`install URL`, from a
// rate-limited loopback server) and then flashes the STM32 and the MXChip
// Wi-Fi module (`update --yes` against the MXChip fake), powers the board on (the
// bootloader counts the boot), and runs the agent again until it is done:
// the env is valid, the booted slot holds the verified image, the versions
// in state are what the hardware holds, and cut downloads resume.
func TestE2EPowerCuts(t *testing.T) {
	c, rng := newCampaign(t, "power-cut", 3)
	content := downloadtest.Content{Seed: 11, Size: 12 << 20} // three journal checkpoints (every 4 MiB)
	rootfs, mcu, wifi := content.Bytes(), demo.Image(12, 8192), demo.Image(13, 32<<10)
	rig := func() (*e2eRig, *downloadtest.Server) {
		r := newE2E(t, "mxchip", demo.ConfigOptions{Components: []string{"rootfs", "mcu", "wifi"}, Download: []string{`max_retries = 3`}},
			demo.DeviceOptions{SlotSize: 16 << 20})
		r.publish(t, fwOf("mcu", "1.1.0", mcu), fwOf("wifi", "1.1.0", wifi))
		srv := downloadtest.New(content)
		srv.SetRate(24 << 20)
		t.Cleanup(srv.Close)
		return r, srv
	}
	flow := func(r *e2eRig, srv *downloadtest.Server) [][]string {
		return [][]string{{"install", "--component", "rootfs", "--md5", md5of(rootfs), "--version", "2.0.0", srv.URL + "/rootfs.img"}, {"update", "--yes"}}
	}
	// A clean run sizes the window the kills fall in.
	r0, s0 := rig()
	start := time.Now()
	for i, args := range flow(r0, s0) {
		if i == 1 {
			r0.boot(t) // the reboot into the new slot
		}
		r0.must(t, args...)
	}
	window := time.Since(start)
	c.notes = append(c.notes, fmt.Sprintf("kills uniform over a clean run's %v", window.Round(time.Millisecond)))
	cuts, resumed := 0, 0
	for i := range c.runs {
		r, srv := rig()
		kill := killAt(rng.Int64N(int64(window)))
		if i == 0 {
			// One run per campaign is cut right after the first journal
			// checkpoint of the rootfs download, so that resuming is
			// asserted every time, not only when the dice land there.
			kill = killOnCheckpoint(r)
		}
		cut, ok := powerCutRun(t, r, srv, flow(r, srv), kill, i, &c.faults)
		if !ok {
			continue
		}
		if err := r.checkInstalled(rootfs, mcu, wifi); err != nil {
			t.Errorf("run %d (%s): %v", i, kill, err)
			continue
		}
		if cut.done > 0 {
			cuts++
			if got := srv.Ranges()[cut.requests:]; len(got) == 0 || got[0] != fmt.Sprintf("bytes=%d-", cut.done) {
				t.Errorf("run %d (%s): the journal held %d bytes of the rootfs download, but the requests after the cut were %q, want the first to be bytes=%d-", i, kill, cut.done, got, cut.done)
				continue
			}
			resumed++
		}
		c.right++
	}
	if cuts == 0 {
		t.Errorf("no run was cut during the rootfs download after a journal checkpoint")
	}
	c.notes = append(c.notes, fmt.Sprintf("%d runs cut mid-download after a checkpoint, %d resumed from the journal's offset with Range", cuts, resumed))
}

// cutState is what a power cut left: the bytes of the rootfs download the
// journal holds (0 unless it was downloading) and how many requests the
// server had seen.
type cutState struct {
	done     int64
	requests int
}

// powerCutRun plays flow with the agent killed by kill, checks the
// environment, powers the device on and finishes the update. It reports
// the cut and whether the run reached the end (errors are reported on t).
func powerCutRun(t *testing.T, r *e2eRig, srv *downloadtest.Server, flow [][]string, kill killer, i int, faults *int) (cutState, bool) {
	t.Helper()
	left := kill
	for j, args := range flow {
		if j == 1 {
			r.boot(t)
		}
		t0 := time.Now()
		if left.kill(t, r, args...) {
			*faults++
			break
		}
		left = left.after(time.Since(t0))
	}
	var cut cutState
	if phase, done := r.journal(t, "rootfs"); phase == string(state.Downloading) {
		cut.done = done
	}
	cut.requests = len(srv.Ranges())
	if _, err := r.dev.Rig.Vars(context.Background()); err != nil {
		t.Errorf("run %d (%s): environment invalid after the cut: %v", i, kill, err)
		return cut, false
	}
	r.boot(t) // power on after the cut
	if err := r.finish(t, flow[0], 6); err != nil {
		t.Errorf("run %d (%s): %v", i, kill, err)
		return cut, false
	}
	return cut, true
}

// killer decides when the agent dies: after a delay, or at the first
// journal checkpoint of the rootfs download.
type killer struct {
	delay      time.Duration
	checkpoint *e2eRig // kill once this rig's journal holds a checkpoint
}

func killAt(ns int64) killer { return killer{delay: time.Duration(ns)} }

func killOnCheckpoint(r *e2eRig) killer { return killer{checkpoint: r} }

// String implements fmt.Stringer for the error lines.
func (k killer) String() string {
	if k.checkpoint != nil {
		return "kill at the first checkpoint"
	}
	return fmt.Sprintf("kill at %v", k.delay)
}

// after is the killer for the next command, d after this one started.
func (k killer) after(d time.Duration) killer {
	if k.checkpoint == nil {
		k.delay -= d
	}
	return k
}

// kill runs the agent with args and kills it as k says; it reports whether
// the agent was still running.
func (k killer) kill(t *testing.T, r *e2eRig, args ...string) bool {
	t.Helper()
	if k.checkpoint == nil {
		return r.killAfter(t, k.delay, args...)
	}
	return r.killWhen(t, func() bool {
		phase, done := r.journal(t, "rootfs")
		return phase == string(state.Downloading) && done > 0
	}, args...)
}

// journal reads the phase of comp from the rig's state.json and the offset
// of its slot download from its download journal (state/download/
// COMP.slot-X.journal), as the agent left them ("" and 0 when there are
// none yet).
func (r *e2eRig) journal(t *testing.T, comp string) (string, int64) {
	t.Helper()
	var st struct {
		Components map[string]struct{ Phase string }
	}
	if raw, err := os.ReadFile(filepath.Join(r.dir, "state", "state.json")); err == nil {
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Fatalf("state.json: %v", err)
		}
	}
	journals, _ := filepath.Glob(filepath.Join(r.dir, "state", "download", comp+".slot-*.journal"))
	var off int64
	for _, p := range journals {
		var j struct{ Offset int64 }
		if raw, err := os.ReadFile(p); err == nil && json.Unmarshal(raw, &j) == nil {
			off = max(off, j.Offset)
		}
	}
	return st.Components[comp].Phase, off
}

// killWhen starts the agent and SIGKILLs it once cond holds (polled every
// 2 ms); it reports whether the agent was still running.
func (r *e2eRig) killWhen(t *testing.T, cond func() bool, args ...string) bool {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-c", r.cfg, "--log-level", "error"}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-done:
			return false
		case <-tick.C:
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
	return true
}

// killAfter starts the agent and SIGKILLs it after d (to the 2 ms of
// killWhen's polling); it reports whether the agent was still running.
func (r *e2eRig) killAfter(t *testing.T, d time.Duration, args ...string) bool {
	t.Helper()
	at := time.Now().Add(d)
	return r.killWhen(t, func() bool { return !time.Now().Before(at) }, args...)
}

// finish brings the device to rootfs 2.0.0, mcu and wifi 1.1.0 as a field
// engineer would after a power cut: reinstall the rootfs if it is not
// there, play the reboot when a slot is armed, and update.
func (r *e2eRig) finish(t *testing.T, install []string, max int) error {
	t.Helper()
	for range max {
		st := r.status(t)
		switch {
		case st["rootfs"].Phase == "rebooting":
			r.boot(t)
			r.run(t, "commit")
		case st["rootfs"].Version != "2.0.0":
			r.run(t, install...)
		default:
			res := r.run(t, "update", "--yes")
			st = r.status(t)
			if res.code == 0 && st["mcu"].Version == "1.1.0" && st["wifi"].Version == "1.1.0" {
				return nil
			}
		}
	}
	return fmt.Errorf("not done after %d steps: %+v", max, r.status(t))
}

// checkInstalled checks the env, the booted slot and the flashes.
func (r *e2eRig) checkInstalled(rootfs, mcu, wifi []byte) error {
	vars, err := r.dev.Rig.Vars(context.Background())
	if err != nil {
		return fmt.Errorf("environment invalid: %w", err)
	}
	cl, err := os.ReadFile(r.dev.Rig.Config.CmdlineFile)
	if err != nil {
		return err
	}
	if !strings.Contains(string(cl), "rauc.slot=B") {
		return fmt.Errorf("booted %q with BOOT_ORDER=%q, want slot B holding 2.0.0", cl, vars["BOOT_ORDER"])
	}
	slot, err := os.ReadFile(r.dev.Rig.Config.Slots["B"])
	if err != nil {
		return err
	}
	switch {
	case !bytes.Equal(slot[:len(rootfs)], rootfs):
		return fmt.Errorf("state says rootfs 2.0.0 but slot B md5 is %s", md5of(slot[:len(rootfs)]))
	case !bytes.Equal(r.dev.MCU.Flash()[:len(mcu)], mcu):
		return fmt.Errorf("state says mcu 1.1.0 but the STM32 flash differs")
	case !bytes.Equal(r.dev.WiFiImage(), wifi):
		return fmt.Errorf("state says wifi 1.1.0 but the MXChip module's last image differs (md5 %s)", md5of(r.dev.WiFiImage()))
	}
	return nil
}

// TestE2ENetworkFaults installs through `ota-agent install URL` from a
// loopback server that injects a random fault into each request: a cut
// after N bytes, a stall, 503/429 with Retry-After, 200 instead of 206, or
// a corrupt byte. Each run ends installed with the exact bytes, or failed
// with the version on the failed list and the old file in place.
func TestE2ENetworkFaults(t *testing.T) {
	c, rng := newCampaign(t, "network", 4)
	r := newE2E(t, "aliyun", demo.ConfigOptions{Components: []string{"settings"}, Download: []string{`max_retries = 10`, `budget = 20.0`},
		Versions: map[string]string{"settings": "1"}}, demo.DeviceOptions{})
	if err := r.setStall("1s"); err != nil {
		t.Fatal(err)
	}
	failed := 0
	defer func() {
		c.notes = append(c.notes, fmt.Sprintf("%d corrupt downloads refused, the rest installed exactly", failed))
	}()
	for i := range c.runs {
		content := downloadtest.Content{Seed: rng.Uint64(), Size: 256 << 10}
		srv := downloadtest.New(content)
		corrupt := rng.IntN(5) == 0
		if corrupt {
			srv.Corrupt(rng.Int64N(content.Size))
			c.faults++
		}
		for range 1 + rng.IntN(4) {
			srv.Push(randomFault(rng, content.Size))
			c.faults++
		}
		md5h, _ := content.Digests()
		ver := fmt.Sprintf("%d", i+2)
		before, _ := os.ReadFile(r.dev.SettingsPath)
		res := r.run(t, "install", "--component", "settings", "--md5", md5h, "--version", ver, srv.URL+"/settings.json")
		srv.Close()
		st := r.status(t)["settings"]
		got, _ := os.ReadFile(r.dev.SettingsPath)
		switch {
		case corrupt && res.code == 1 && bytes.Equal(got, before) && st.Version != ver:
			c.right++
			failed++
		case !corrupt && res.code == 0 && bytes.Equal(got, content.Bytes()) && st.Version == ver:
			c.right++
		default:
			t.Errorf("run %d (corrupt %v): exit %d, version %s, file md5 %s (want %s)\n%s%s", i, corrupt, res.code, st.Version, md5of(got), md5h, res.stdout, res.stderr)
		}
	}
}

func randomFault(rng *rand.Rand, size int64) downloadtest.Fault {
	switch rng.IntN(6) {
	case 0:
		return downloadtest.Fault{Kind: downloadtest.Cut, N: rng.Int64N(size)}
	case 1:
		return downloadtest.Fault{Kind: downloadtest.Stall, N: rng.Int64N(size)}
	case 2:
		return downloadtest.Fault{Kind: downloadtest.Status, Status: 503, RetryAfter: "1"}
	case 3:
		return downloadtest.Fault{Kind: downloadtest.Status, Status: 429, RetryAfter: "1"}
	case 4:
		return downloadtest.Fault{Kind: downloadtest.Cut, N: rng.Int64N(size), Whole: true}
	}
	return downloadtest.Fault{Kind: downloadtest.None, Whole: true}
}

// setStall sets download.stall_timeout in the rig's configuration.
func (r *e2eRig) setStall(d string) error {
	b, err := os.ReadFile(r.cfg)
	if err != nil {
		return err
	}
	s := strings.Replace(string(b), `stall_timeout = "5s"`, `stall_timeout = "`+d+`"`, 1)
	return os.WriteFile(r.cfg, []byte(s), 0o644)
}

// TestE2ESerialFaults flashes the STM32, the MXChip Wi-Fi module and the
// ESP32 radio over lines with seeded noise (bit flips, lost bytes, NACKs,
// lost ACKs, stalls): each install ends with the exact image in flash, or
// failed with the old version kept.
func TestE2ESerialFaults(t *testing.T) {
	c, rng := newCampaign(t, "serial", 3)
	dir := t.TempDir()
	mcu, wifi, radio := demo.Image(21, 8192), demo.Image(22, 32<<10), demo.Image(23, 32<<10)
	paths := map[string]string{"mcu": filepath.Join(dir, "mcu.bin"), "wifi": filepath.Join(dir, "wifi.bin"), "radio": filepath.Join(dir, "radio.bin")}
	for n, b := range map[string][]byte{"mcu": mcu, "wifi": wifi, "radio": radio} {
		if err := os.WriteFile(paths[n], b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wifiFaults, installed, refused := 0, 0, 0
	for i := range c.runs {
		do := demo.DeviceOptions{
			MCUFaults:  stm32test.Faults{Seed: rng.Uint64(), BitFlip: 0.03, Drop: 0.02, NACK: 0.03, Stall: 0.02, StallFor: 300 * time.Millisecond, Max: 6},
			WiFiFaults: ymodemFaults(rng, len(wifi)),
			ESPFaults:  espromtest.Faults{Seed: rng.Int64(), CorruptRate: 0.15, StallRate: 0.1, Stall: 200 * time.Millisecond},
		}
		wifiFaults += len(do.WiFiFaults)
		r := newE2E(t, "mxchip", demo.ConfigOptions{Components: []string{"mcu", "wifi", "radio"}}, do)
		ok := true
		for _, p := range []struct {
			name  string
			img   []byte
			flash func() []byte
		}{
			{"mcu", mcu, func() []byte { return r.dev.MCU.Flash()[:len(mcu)] }},
			{"wifi", wifi, r.dev.WiFiImage},
			{"radio", radio, func() []byte { return r.dev.ESP.Flash(0x10000, len(radio)) }},
		} {
			res := r.run(t, "install", "--component", p.name, "--version", "1.1.0", paths[p.name])
			v := r.status(t)[p.name].Version
			good := bytes.Equal(p.flash(), p.img)
			if res.code == 0 {
				installed++
			} else {
				refused++
			}
			if !(res.code == 0 && good && v == "1.1.0") && !(res.code == 1 && v == "1.0.0") {
				ok = false
				t.Errorf("run %d %s: exit %d, version %s, flash equal %v\n%s", i, p.name, res.code, v, good, res.stderr)
			}
		}
		c.faults += r.dev.MCU.Stats().Faults + len(do.WiFiFaults)
		if ok {
			c.right++
		}
	}
	c.notes = append(c.notes, fmt.Sprintf("%d YMODEM faults seeded on the Wi-Fi line; ESP32 line noisy in every run (rates, not counted); %d installs verified, %d refused with the old version kept",
		wifiFaults, installed, refused))
}

// ymodemFaults seeds one to three faults on the MXChip module's line, at
// blocks of an image of size bytes (block 0 carries name and size).
func ymodemFaults(rng *rand.Rand, size int) []ymodemtest.Fault {
	kinds := []ymodemtest.FaultKind{ymodemtest.Corrupt, ymodemtest.Drop, ymodemtest.NAK, ymodemtest.DropACK, ymodemtest.Stall, ymodemtest.NAKEOT}
	var fs []ymodemtest.Fault
	for range 1 + rng.IntN(3) {
		f := ymodemtest.Fault{Kind: kinds[rng.IntN(len(kinds))], Block: rng.IntN(size/1024 + 1)}
		if f.Kind == ymodemtest.Stall {
			f.Stall = 300 * time.Millisecond
		}
		fs = append(fs, f)
	}
	return fs
}
