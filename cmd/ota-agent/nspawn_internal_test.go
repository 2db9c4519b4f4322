package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"ota-agent/internal/peertest"
	"ota-agent/transport/akaso/akasotest"
)

// The systemd test boots a Debian bookworm tree with systemd as PID 1 in
// systemd-nspawn (no machined: --register=no --keep-unit; --volatile=overlay
// keeps the cached tree pristine), installs the agent from the .deb that
// cmd/ota-agent/deb/build.sh makes, and watches it with systemctl show and
// journalctl through nsenter. The container shares the host's network
// namespace (no --network-veth, no --private-network), so the agent in it
// reaches the fake server on the host's 127.0.0.1.

// treeDir is where the container tree is cached between runs (about 240 MB,
// a minute to build): $OTA_NSPAWN_CACHE, else /var/cache/ota-agent-test.
// Not under bin/: `go vet ./...` would walk a Debian tree inside the module.
func treeDir() string {
	if d := os.Getenv("OTA_NSPAWN_CACHE"); d != "" {
		return filepath.Join(d, "bookworm")
	}
	return "/var/cache/ota-agent-test/bookworm"
}

// debianMirror returns the first deb.debian.org-style URI of the host's
// APT sources (deb822 URIs: or one-line deb lines) for the main archive.
func debianMirror(t *testing.T) string {
	t.Helper()
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*")
	files = append([]string{"/etc/apt/sources.list"}, files...)
	rx := regexp.MustCompile(`(?m)^(?:URIs:\s*|deb\s+(?:\[[^]]*\]\s+)?)(\S+/debian)/?(?:\s|$)`)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if m := rx.FindSubmatch(raw); m != nil {
			return string(m[1])
		}
	}
	return "http://deb.debian.org/debian"
}

// containerTree returns the cached tree, building it with debootstrap
// first when it is missing (into a temporary name, renamed when complete).
func containerTree(t *testing.T) string {
	t.Helper()
	tree := treeDir()
	if _, err := os.Stat(filepath.Join(tree, "usr/lib/systemd/systemd")); err == nil {
		return tree
	}
	peertest.Need(t, "debootstrap", "debootstrap")
	tmp := tree + ".tmp"
	_ = os.RemoveAll(tmp)
	if err := os.MkdirAll(filepath.Dir(tree), 0o755); err != nil {
		t.Fatal(err)
	}
	mirror := debianMirror(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, "debootstrap", "--variant=minbase", "--include=systemd,systemd-sysv,dbus", "bookworm", tmp, mirror).CombinedOutput()
	if err != nil {
		t.Fatalf("debootstrap bookworm %s from %s: %v (is the mirror reachable?)\n%s", tmp, mirror, err, tail(out))
	}
	if err := os.Rename(tmp, tree); err != nil {
		t.Fatal(err)
	}
	t.Logf("container tree built in %s from %s: %s", time.Since(start).Round(time.Second), mirror, tree)
	return tree
}

func tail(b []byte) string {
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// debArch is the Debian architecture of this machine's GOARCH.
func debArch() string {
	if runtime.GOARCH == "arm" {
		return "armhf"
	}
	return runtime.GOARCH
}

// buildDeb builds the agent for this machine and packages it into dir.
func buildDeb(t *testing.T, dir, version string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ota-agent")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version="+version, "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command("deb/build.sh", debArch(), version, bin, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("deb/build.sh: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// container is a booted systemd-nspawn container.
type container struct {
	t    *testing.T
	cmd  *exec.Cmd
	pid1 string // the container's PID 1, as the host sees it
	log  bytes.Buffer
}

// boot starts systemd in tree with share bound read-only at /mnt/ota and
// waits until it is running.
func boot(t *testing.T, tree, share string) *container {
	t.Helper()
	c := &container{t: t}
	c.cmd = exec.Command("systemd-nspawn", "--register=no", "--keep-unit", "--volatile=overlay", "--quiet",
		"-D", tree, "--bind-ro="+share+":/mnt/ota", "--boot")
	c.cmd.Stdout, c.cmd.Stderr = &c.log, &c.log
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("systemd-nspawn: %v", err)
	}
	t.Cleanup(c.halt)
	deadline := time.Now().Add(60 * time.Second)
	for c.pid1 == "" && time.Now().Before(deadline) {
		raw, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", c.cmd.Process.Pid, c.cmd.Process.Pid))
		if f := strings.Fields(string(raw)); len(f) > 0 {
			if comm, _ := os.ReadFile("/proc/" + f[0] + "/comm"); strings.TrimSpace(string(comm)) == "systemd" {
				c.pid1 = f[0]
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if c.pid1 == "" {
		t.Fatalf("systemd-nspawn -D %s: no systemd PID 1 within 60 s; output:\n%s", tree, c.log.String())
	}
	// The bus comes up a moment after PID 1: until then systemctl fails.
	var state string
	for time.Now().Before(deadline) {
		out, _ := c.run("timeout", "60", "systemctl", "is-system-running", "--wait")
		if state = strings.TrimSpace(out); state == "running" || state == "degraded" {
			return c
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("container system state %q after 60 s; output:\n%s", state, c.log.String())
	return nil
}

// halt powers the container off, killing it after 30 s.
func (c *container) halt() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM) // nspawn --boot: an orderly poweroff
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// run runs argv in the container's namespaces; it returns stdout and the
// exit status.
func (c *container) run(argv ...string) (string, int) {
	cmd := exec.Command("nsenter", append([]string{"-t", c.pid1, "-a"}, argv...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("nsenter %v: %v", argv, err)
	}
	return out.String() + errb.String(), code
}

// must runs argv and fails the test unless it exits 0.
func (c *container) must(argv ...string) string {
	c.t.Helper()
	out, code := c.run(argv...)
	if code != 0 {
		c.t.Fatalf("in the container: %v exited %d:\n%s", argv, code, out)
	}
	return out
}

// sh runs a shell line in the container.
func (c *container) sh(line string) string { c.t.Helper(); return c.must("sh", "-c", line) }

// show returns the unit's property p (systemctl show --value).
func (c *container) show(p string) string {
	c.t.Helper()
	return strings.TrimSpace(c.must("systemctl", "show", "--value", "-p", p, "ota-agent.service"))
}

// waitShow polls property p until it matches re, failing after within.
func (c *container) waitShow(p, re string, within time.Duration) string {
	c.t.Helper()
	rx := regexp.MustCompile(re)
	var v string
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if v = c.show(p); rx.MatchString(v) {
			return v
		}
	}
	c.t.Fatalf("ota-agent.service %s = %q, want it to match %q within %s; journal:\n%s", p, v, re, within, c.journal())
	return ""
}

func (c *container) journal() string {
	out, _ := c.run("journalctl", "--no-pager", "-o", "cat", "-u", "ota-agent.service")
	return out
}

// TestSystemdInContainer: the .deb in a real systemd. dpkg -i enables the
// unit without starting it (no configuration yet); once agent.toml exists
// systemctl start returns after READY=1; STATUS= follows the daemon
// (checking, held for approval, downloading N %, waiting until T, last
// error); WATCHDOG=1 keeps it alive; a SIGSTOPped agent is killed by the
// watchdog and restarted; a crash is restarted; systemctl stop ends it
// cleanly within TimeoutStopSec; journal lines carry component and version;
// dpkg --purge, then service install / status / uninstall of the bare
// binary leave nothing behind.
func TestSystemdInContainer(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the systemd container test boots a container")
	}
	peertest.NeedRoot(t, "systemd-nspawn boots a container")
	peertest.Need(t, "systemd-nspawn", "systemd-container")
	peertest.Need(t, "nsenter", "util-linux")
	peertest.Need(t, "dpkg-deb", "dpkg")
	tree := containerTree(t)
	share := t.TempDir()
	const ver = "v9.9.9-nspawn"
	deb := buildDeb(t, share, ver)
	srv, data := containerServer(t)
	c := boot(t, tree, share)

	c.must("dpkg", "-i", "/mnt/ota/"+filepath.Base(deb))
	expect(t, "after dpkg -i: UnitFileState", c.show("UnitFileState"), "enabled")
	expect(t, "after dpkg -i: ActiveState (no agent.toml yet)", c.show("ActiveState"), "inactive")
	expect(t, "state directory", strings.TrimSpace(c.must("stat", "-c", "%U:%G %a", "/var/lib/ota-agent")), "root:root 750")
	c.must("test", "-f", "/etc/ota-agent/agent.toml.example")
	c.must("test", "-f", "/usr/share/man/man8/ota-agent.8.gz")

	configure(t, c, share, srv.BaseURL)
	c.must("timeout", "60", "systemctl", "start", "ota-agent.service") // Type=notify: returns after READY=1
	started := time.Now()
	expect(t, "after start: ActiveState", c.show("ActiveState"), "active")
	expect(t, "Type", c.show("Type"), "notify")
	expect(t, "WatchdogUSec", c.show("WatchdogUSec"), "4s")
	statusFlow(t, c, srv)
	if got := c.sh("cat /root/rootfs.img | md5sum | cut -d' ' -f1"); strings.TrimSpace(got) != fmt.Sprintf("%x", md5.Sum(data)) {
		t.Errorf("installed image md5 %s, want %x", got, md5.Sum(data))
	}
	time.Sleep(time.Until(started.Add(13 * time.Second))) // > 3 × WatchdogSec
	expect(t, "NRestarts after 3 watchdog periods", c.show("NRestarts"), "0")
	checkContainerJournal(t, c, ver)

	watchdogKill(t, c)
	crashRestart(t, c)
	cleanStop(t, c)
	bareService(t, c)
}

func expect(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %q, want %q", what, got, want)
	}
}

// containerServer is the AKASO fake on the host's 127.0.0.1 offering
// rootfs 2.0.0, served slowly (about 3 s) so progress shows.
func containerServer(t *testing.T) (*akasotest.Server, []byte) {
	t.Helper()
	srv := akasotest.NewServer(akasotest.Options{})
	t.Cleanup(srv.Close)
	data := bytes.Repeat([]byte("ota-agent firmware\n"), 40000)
	srv.SetEntries([]akasotest.Entry{{UID: "101", MD5Check: fmt.Sprintf("%X", md5.Sum(data)), ModifyDate: "2026-05-01 10:00:00",
		Model: "Brave7_Amba", Src: slowFile(t, data), VersionName: "2.0.0", FileSize: "0.8MB"}})
	return srv, data
}

// configure writes agent.toml and a drop-in with a 4 s watchdog and a 1 s
// restart delay (the shipped 300 s and 30 s would make the test slow).
func configure(t *testing.T, c *container, share, base string) {
	t.Helper()
	cfg := statusConfig(base, "/var/lib/ota-agent", "/root/rootfs.img")
	if err := os.WriteFile(filepath.Join(share, "agent.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	c.sh("cp /mnt/ota/agent.toml /etc/ota-agent/agent.toml && mkdir -p /etc/systemd/system/ota-agent.service.d && " +
		"printf '[Service]\\nWatchdogSec=4\\nRestartSec=1\\n' > /etc/systemd/system/ota-agent.service.d/test.conf && systemctl daemon-reload")
}

// statusFlow walks STATUS= through a held offer, its approval, the slow
// download and install, and a failed check.
func statusFlow(t *testing.T, c *container, srv *akasotest.Server) {
	t.Helper()
	c.waitShow("StatusText", `^waiting until \S+Z; held for approval: rootfs 2\.0\.0$`, 30*time.Second)
	c.must("ota-agent", "approve", "rootfs")
	c.waitShow("StatusText", `^rootfs: downloading 2\.0\.0 [1-9]\d?%$`, 30*time.Second)
	c.waitShow("StatusText", `^waiting until \S+Z$`, 30*time.Second)
	srv.SetAnswer(&akasotest.Answer{Status: http.StatusServiceUnavailable})
	c.waitShow("StatusText", `^waiting until \S+Z; last error: check: .*503`, 30*time.Second)
	srv.SetAnswer(nil)
}

// checkContainerJournal: every line the agent logged names a component and
// the version, with no time of its own; transitions are logged at info.
func checkContainerJournal(t *testing.T, c *container, ver string) {
	t.Helper()
	j := c.journal()
	n := 0
	for _, l := range strings.Split(j, "\n") {
		if !strings.HasPrefix(l, "level=") {
			continue // systemd's own lines (Started, Stopping, ...)
		}
		n++
		if !strings.Contains(l, " component=") || !strings.Contains(l, " version="+ver) || strings.Contains(l, "time=") {
			t.Errorf("journal line without component or version=%s, or with a time: %q", ver, l)
		}
	}
	if n < 5 || !strings.Contains(j, `msg="state transition"`) || !strings.Contains(j, `msg="next check"`) {
		t.Errorf("journal has %d agent lines, want transitions and next check at info:\n%s", n, j)
	}
}

// watchdogKill freezes the agent: systemd's watchdog kills it (SIGABRT)
// and Restart=on-failure starts a new one.
func watchdogKill(t *testing.T, c *container) {
	t.Helper()
	pid := c.show("MainPID")
	c.sh("kill -STOP " + pid) // minbase has no /bin/kill: the shell's
	c.waitShow("NRestarts", `^1$`, 60*time.Second)
	c.waitShow("ActiveState", `^active$`, 60*time.Second)
	if c.show("MainPID") == pid {
		t.Fatalf("MainPID still %s after the watchdog restart", pid)
	}
	if !strings.Contains(c.sh("journalctl --no-pager -u ota-agent.service"), "Watchdog timeout") {
		t.Errorf("journal does not show the watchdog timeout:\n%s", c.journal())
	}
}

// crashRestart kills the agent with SIGSEGV (a crash): it comes back.
func crashRestart(t *testing.T, c *container) {
	t.Helper()
	pid := c.show("MainPID")
	c.sh("kill -SEGV " + pid)
	c.waitShow("NRestarts", `^2$`, 60*time.Second)
	c.waitShow("ActiveState", `^active$`, 60*time.Second)
	c.waitShow("StatusText", `^waiting until`, 30*time.Second)
	if c.show("MainPID") == pid {
		t.Fatalf("MainPID still %s after the crash", pid)
	}
}

// cleanStop: systemctl stop ends the agent with SIGTERM, well within
// TimeoutStopSec, and the unit ends with Result=success.
func cleanStop(t *testing.T, c *container) {
	t.Helper()
	start := time.Now()
	c.must("timeout", "60", "systemctl", "stop", "ota-agent.service")
	took := time.Since(start)
	limit, _ := time.ParseDuration(c.show("TimeoutStopUSec"))
	if limit == 0 || took >= limit {
		t.Errorf("systemctl stop took %s, TimeoutStopUSec %s", took, limit)
	}
	expect(t, "after stop: Result", c.show("Result"), "success")
	expect(t, "after stop: ActiveState", c.show("ActiveState"), "inactive")
	t.Logf("systemctl stop took %s (TimeoutStopSec %s)", took.Round(time.Millisecond), limit)
}

// bareService purges the package (nothing of it stays), then installs the
// bare binary with `service install` and checks status, start, stop and
// uninstall, which leaves the unit directories as they were.
func bareService(t *testing.T, c *container) {
	t.Helper()
	units := "find /etc/systemd /lib/systemd/system /run/systemd/system -name '*ota-agent*' | sort"
	c.sh("rm -r /etc/systemd/system/ota-agent.service.d && systemctl daemon-reload") // the test's drop-in
	c.must("dpkg", "--purge", "ota-agent")
	if left := c.sh(units + "; ls -d /var/lib/ota-agent /usr/bin/ota-agent 2>/dev/null || true"); strings.TrimSpace(left) != "" {
		t.Fatalf("dpkg --purge left: %s", left)
	}
	c.sh("dpkg-deb -x /mnt/ota/*.deb /tmp/x && cp /tmp/x/usr/bin/ota-agent /usr/local/bin/ && rm -rf /tmp/x")
	serviceStatusIs(t, c, "not installed", 4)
	c.must("ota-agent", "-c", "/etc/ota-agent/agent.toml", "service", "install")
	if u := c.sh("cat /etc/systemd/system/ota-agent.service"); !strings.Contains(u, `"--log-level" "info"`) {
		t.Errorf("installed unit does not log at info:\n%s", u)
	}
	serviceStatusIs(t, c, "stopped", 3)
	c.must("ota-agent", "service", "start")
	serviceStatusIs(t, c, "running: ", 0)
	c.must("ota-agent", "service", "uninstall")
	serviceStatusIs(t, c, "not installed", 4)
	if left := strings.TrimSpace(c.sh(units)); left != "" {
		t.Errorf("after service uninstall, unit files left:\n%s", left)
	}
	if pids := strings.TrimSpace(c.sh(`for p in /proc/[0-9]*; do [ "$(readlink $p/exe)" = /usr/local/bin/ota-agent ] && echo ${p#/proc/}; done; true`)); pids != "" {
		t.Errorf("agent still running after uninstall: pid %s", pids)
	}
}

// serviceStatusIs runs `ota-agent service status` and checks its line and
// exit status.
func serviceStatusIs(t *testing.T, c *container, prefix string, code int) {
	t.Helper()
	out, got := c.run("ota-agent", "service", "status")
	if got != code || !strings.HasPrefix(out, prefix) {
		t.Fatalf("service status: %q exit %d, want %q... exit %d", out, got, prefix, code)
	}
}
