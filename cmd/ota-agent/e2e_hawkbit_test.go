package main_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"ota-agent/cmd/internal/demo"
	"ota-agent/transport/hawkbit/hawkbittest"
)

// hawkbitFake returns the fake DDI server behind a rig made for "hawkbit".
func hawkbitFake(t *testing.T, r *e2eRig) *hawkbittest.Server {
	t.Helper()
	f, ok := r.srv.(interface{ Fake() *hawkbittest.Server })
	if !ok {
		t.Fatalf("the %s demo server has no hawkBit fake", r.srv.API())
	}
	return f.Fake()
}

// feedbackLines renders the fake's accepted feedback of action id as
// "execution/finished cnt/of: detail".
func feedbackLines(s *hawkbittest.Server, id int) []string {
	var out []string
	for _, f := range s.Feedback() {
		if f.Action != id {
			continue
		}
		l := f.Execution + "/" + f.Finished
		if f.Progress != nil {
			l += " " + itoa(f.Progress[0]) + "/" + itoa(f.Progress[1])
		}
		if len(f.Details) > 0 {
			l += ": " + f.Details[0]
		}
		out = append(out, l)
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }

// wantOnce fails unless every feedback line is unique and exactly one is
// a closed one.
func wantOnce(t *testing.T, lines []string, closed string) {
	t.Helper()
	seen := map[string]bool{}
	n := 0
	for _, l := range lines {
		if seen[l] {
			t.Errorf("feedback %q sent twice in %q", l, lines)
		}
		seen[l] = true
		if strings.HasPrefix(l, "closed/") {
			n++
			if !strings.HasPrefix(l, closed) {
				t.Errorf("closing feedback %q, want %s", l, closed)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d closing feedbacks in %q, want 1", n, lines)
	}
}

// TestE2EHawkbitABAndMCU: a forced hawkBit action with a rootfs (ab) and
// an MCU (stm32) chunk is one transaction: update writes slot B and
// flashes the simulated STM32, the action stays open (proceeding only)
// through the reboot, and closed/success follows the commit in slot B.
func TestE2EHawkbitABAndMCU(t *testing.T) {
	rootfs, mcu := demo.Image(21, 1<<20), demo.Image(22, 8192)
	r := newE2E(t, "hawkbit", demo.ConfigOptions{Components: []string{"rootfs", "mcu"}}, demo.DeviceOptions{})
	fake := hawkbitFake(t, r)
	f := fwOf("rootfs", "2.0.0", rootfs)
	f.UpgradeType = "forced"
	r.publish(t, f, fwOf("mcu", "1.1.0", mcu))
	out := r.must(t, "update")
	for _, l := range []string{"rootfs 2.0.0: written and armed", "mcu 1.1.0: installed"} {
		if !strings.Contains(out, l) {
			t.Errorf("update output lacks %q:\n%s", l, out)
		}
	}
	wantVersions(t, r.status(t), map[string]string{"rootfs": "1.0.0/rebooting", "mcu": "1.1.0/idle"})
	before := feedbackLines(fake, 1)
	if st := fake.State(1); st != hawkbittest.Running || len(before) == 0 || strings.Contains(strings.Join(before, "\n"), "closed/") {
		t.Fatalf("before the reboot: action %s, feedback %q; want RUNNING with proceeding only", st, before)
	}
	if slot := r.boot(t); slot != "B" {
		t.Fatalf("bootloader booted %s, want B", slot)
	}
	if out := r.must(t, "commit"); !strings.Contains(out, "rootfs 2.0.0 committed in slot B") {
		t.Errorf("commit said %q", out)
	}
	after := feedbackLines(fake, 1)
	if st := fake.State(1); st != hawkbittest.Finished {
		t.Errorf("after the commit: action %s, want FINISHED; feedback %q", st, after)
	}
	wantOnce(t, after, "closed/success")
	if last := after[len(after)-1]; !strings.HasPrefix(last, "closed/success") {
		t.Errorf("last feedback %q, want closed/success", last)
	}
	if got := readFile(t, r.dev.Rig.Config.Slots["B"])[:len(rootfs)]; !bytes.Equal(got, rootfs) {
		t.Errorf("slot B md5 %s, want %s", md5of(got), md5of(rootfs))
	}
	if got := r.dev.MCU.Flash()[:len(mcu)]; !bytes.Equal(got, mcu) {
		t.Errorf("STM32 flash md5 %s, want %s", md5of(got), md5of(mcu))
	}
	t.Logf("feedback of action 1:\n%s", strings.Join(after, "\n"))
}

// TestE2EHawkbitDemo runs the whole demo against the hawkBit fake with
// the real binary: exit without error and every part verified.
func TestE2EHawkbitDemo(t *testing.T) {
	var out bytes.Buffer
	sum, err := demo.Run(context.Background(), demo.Options{API: "hawkbit", Binary: bin, Dir: t.TempDir(), Out: &out})
	if err != nil {
		t.Fatalf("demo --api hawkbit: %v\n%s", err, out.String())
	}
	if len(sum.Verified) != 3 {
		t.Errorf("verified %q, want rootfs, mcu and wifi", sum.Verified)
	}
	for _, want := range []string{"feedback action 2: closed/success", "feedback action 3: closed/failure", "feedback action 4: closed/success", "feedback action 5: closed/failure"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}

// hawkbitSent reports whether the client's state file records step as
// delivered (a substring of a Sent key, e.g. "download:rootfs").
func (r *e2eRig) hawkbitSent(step string) bool {
	b, err := os.ReadFile(filepath.Join(r.dir, "state", "hawkbit.json"))
	return err == nil && strings.Contains(string(b), `"`+step)
}

// daemonUntil runs the daemon until cond holds (polled every 20 ms, at
// most 60 s), then stops it with SIGTERM.
func (r *e2eRig) daemonUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	cmd := exec.Command(bin, "-c", r.cfg, "--log-level", "error", "run")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	for end := time.Now().Add(60 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("daemon: no %s within 60 s", what)
		}
	}
}

// TestE2EHawkbitDaemonKilled: the daemon is SIGKILLed right after its
// download-started feedback is persisted, and again after the rootfs's
// downloaded feedback; restarted, it completes the deployment (slot B
// written, STM32 flashed, commit after the reboot) and the server holds
// each feedback step once, closed/success last.
func TestE2EHawkbitDaemonKilled(t *testing.T) {
	rootfs, mcu := demo.Image(31, 8<<20), demo.Image(32, 8192)
	r := newE2E(t, "hawkbit", demo.ConfigOptions{Components: []string{"rootfs", "mcu"}}, demo.DeviceOptions{})
	fake := hawkbitFake(t, r)
	f := fwOf("rootfs", "2.0.0", rootfs)
	f.UpgradeType = "forced"
	r.publish(t, f, fwOf("mcu", "1.1.0", mcu))
	for _, step := range []string{"download:rootfs", "downloaded:rootfs"} {
		if !r.killWhen(t, func() bool { return r.hawkbitSent(step) }, "run") {
			t.Fatalf("the daemon ended before %s", step)
		}
		t.Logf("killed after %s: feedback %q", step, feedbackLines(fake, 1))
	}
	r.daemonUntil(t, "armed slot", func() bool {
		return r.status(t)["rootfs"].Phase == "rebooting" && r.status(t)["mcu"].Version == "1.1.0"
	})
	if st := fake.State(1); st != hawkbittest.Running {
		t.Fatalf("before the reboot: action %s, want RUNNING", st)
	}
	if slot := r.boot(t); slot != "B" {
		t.Fatalf("bootloader booted %s, want B", slot)
	}
	r.daemonUntil(t, "closed action", func() bool { return fake.State(1) != hawkbittest.Running })
	lines := feedbackLines(fake, 1)
	if st := fake.State(1); st != hawkbittest.Finished {
		t.Errorf("action %s, want FINISHED; feedback %q", st, lines)
	}
	wantOnce(t, lines, "closed/success")
	wantVersions(t, r.status(t), map[string]string{"rootfs": "2.0.0/idle", "mcu": "1.1.0/idle"})
	if got := readFile(t, r.dev.Rig.Config.Slots["B"])[:len(rootfs)]; !bytes.Equal(got, rootfs) {
		t.Errorf("slot B md5 %s, want %s", md5of(got), md5of(rootfs))
	}
	if got := r.dev.MCU.Flash()[:len(mcu)]; !bytes.Equal(got, mcu) {
		t.Errorf("STM32 flash md5 %s, want %s", md5of(got), md5of(mcu))
	}
	t.Logf("feedback of action 1:\n%s", strings.Join(lines, "\n"))
}
