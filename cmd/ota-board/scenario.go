package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"ota-agent/flasher/stm32/stm32test"
	"ota-agent/transport/akaso/akasotest"
)

// scenario is one board run.
type scenario struct {
	name string
	run  func(ctx context.Context, r *rig) error
}

var scenarios = []scenario{
	{"update", scenarioUpdate},
	{"fallback", scenarioFallback},
	{"watchdog", scenarioWatchdog},
	{"powercut", scenarioPowercut},
}

func scenarioNames() string {
	var ns []string
	for _, s := range scenarios {
		ns = append(ns, s.name)
	}
	return strings.Join(ns, ", ")
}

// runScenarios runs the scenario named only (or all) and prints each
// outcome with its wall time.
func runScenarios(ctx context.Context, b *board, only string, keep bool) error {
	failed := 0
	for _, s := range scenarios {
		if only != "all" && only != s.name {
			continue
		}
		start := time.Now()
		err := runOne(ctx, b, s, keep)
		fmt.Printf("board: scenario %s: %s in %s\n", s.name, verdict(err), time.Since(start).Round(time.Second))
		if err != nil {
			fmt.Printf("board: scenario %s: %v\n", s.name, err)
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d scenario(s) failed", failed)
	}
	return nil
}

func verdict(err error) string {
	if err != nil {
		return "FAIL"
	}
	return "ok"
}

// rig is one scenario's host side: the fake AKASO server, the simulated
// STM32 on a pty, the disk copy and the running QEMU.
type rig struct {
	b    *board
	work string
	api  *akasotest.Server
	mcu  *stm32test.Sim
	vm   *vm
	old  []byte // the MCU firmware before the update
}

// runOne sets up a rig in a fresh work directory and runs s.
func runOne(ctx context.Context, b *board, s scenario, keep bool) error {
	work := filepath.Join(b.runs, "run-"+s.name)
	_ = os.RemoveAll(work)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	r, err := newRig(ctx, b, work)
	if err != nil {
		return err
	}
	defer r.close()
	err = s.run(ctx, r)
	fmt.Printf("board: scenario %s: console log %s\n", s.name, filepath.Join(work, "console.log"))
	if err == nil && !keep {
		_ = os.Remove(filepath.Join(work, "disk.img"))
	}
	return err
}

// newRig copies the disk, starts the fake server and the MCU simulator.
func newRig(ctx context.Context, b *board, work string) (*rig, error) {
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	disk := filepath.Join(work, "disk.img")
	if out, err := exec.Command("cp", "--sparse=always", b.path("disk.img"), disk).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("copy disk: %v: %s", err, out)
	}
	mcu, err := stm32test.New(stm32test.Options{})
	if err != nil {
		return nil, err
	}
	r := &rig{b: b, work: work, mcu: mcu, old: bytes.Repeat([]byte("old firmware 1.0.0\n"), 100)}
	mcu.SetFlash(r.old)
	r.api = akasotest.NewServer(akasotest.Options{Entries: []akasotest.Entry{}, Log: slog.Default()})
	go servePty(ctx, mcu, filepath.Join(work, "mcu.pty"))
	return r, waitFile(filepath.Join(work, "mcu.pty"), 5*time.Second)
}

func (r *rig) close() {
	if r.vm != nil {
		r.vm.kill()
	}
	r.api.Close()
}

// boot starts QEMU on the rig's disk.
func (r *rig) boot() error {
	v, err := r.b.start(vmConfig{disk: filepath.Join(r.work, "disk.img"), mcuPty: filepath.Join(r.work, "mcu.pty"),
		apiAddr: strings.TrimPrefix(r.api.URL, "http://"), logPath: filepath.Join(r.work, "console.log")})
	r.vm = v
	return err
}

// publish offers version v of the rootfs (slot image file) with a new MCU
// image in one zip, as the AKASO list's only entry; it returns the MCU image.
func (r *rig) publish(v, slotFile string) ([]byte, error) {
	rootfs, err := os.ReadFile(r.b.path(slotFile))
	if err != nil {
		return nil, err
	}
	mcu := make([]byte, 24*1024)
	_, _ = rand.Read(mcu)
	pkg, err := bundle(v, rootfs, mcu)
	if err != nil {
		return nil, err
	}
	name := "board-" + v + ".zip"
	r.api.AddFile(name, pkg)
	sum := md5.Sum(pkg)
	r.api.SetEntries([]akasotest.Entry{{UID: "1", MD5Check: strings.ToUpper(hex.EncodeToString(sum[:])),
		ModifyDate: "2025-05-20 12:00:00", OTALog: "board release " + v, Model: "Brave7_Amba",
		Src: "http://10.0.2.100" + akasotest.FilePrefix + name, VersionName: v,
		FileSize: fmt.Sprintf("%.1fMB", float64(len(pkg))/1e6)}})
	return mcu, nil
}

// bundle zips a rootfs and an MCU image after a manifest naming both.
func bundle(v string, rootfs, mcu []byte) ([]byte, error) {
	type image struct {
		Component string `json:"component"`
		Version   string `json:"version"`
		File      string `json:"file"`
		SHA256    string `json:"sha256"`
		Size      int    `json:"size"`
	}
	im := func(c, ver, f string, b []byte) image {
		s := sha256.Sum256(b)
		return image{c, ver, f, hex.EncodeToString(s[:]), len(b)}
	}
	man, _ := json.Marshal(map[string][]image{"images": {im("rootfs", v, "rootfs.img", rootfs), im("mcu", v, "mcu.bin", mcu)}})
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, f := range []struct {
		name string
		data []byte
	}{{"manifest.json", man}, {"rootfs.img", rootfs}, {"mcu.bin", mcu}} {
		fw, err := w.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate})
		if err != nil {
			return nil, err
		}
		if _, err := fw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// expectBoot waits for U-Boot to choose slot and for the root shell.
func (r *rig) expectBoot(ctx context.Context, slot string) error {
	if _, err := r.vm.con.expect(ctx, regexp.MustCompile(`board: booting slot `+slot), 3*time.Minute); err != nil {
		return err
	}
	return r.vm.login(ctx, 3*time.Minute)
}

// checkService asserts, with systemctl show on the console, that the agent
// runs under systemd as Type=notify and has sent READY=1 and a STATUS=.
func (r *rig) checkService(ctx context.Context) error {
	var out string
	for i := 0; i < 60; i++ {
		o, _, err := r.vm.sh(ctx, "systemctl show -p Type -p ActiveState -p SubState -p StatusText -p NotifyAccess -p WatchdogUSec ota-agent", 30*time.Second)
		if err != nil {
			return err
		}
		out = o
		if strings.Contains(out, "ActiveState=active") && strings.Contains(out, "StatusText=") && !strings.Contains(out, "StatusText=\n") {
			break
		}
		r.vm.pause(ctx, time.Second)
	}
	for _, want := range []string{"Type=notify", "ActiveState=active", "SubState=running", "NotifyAccess=main"} {
		if !strings.Contains(out, want) {
			return fmt.Errorf("systemctl show ota-agent: no %s in:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`StatusText=\S`).MatchString(out) {
		return fmt.Errorf("systemctl show ota-agent: no STATUS= sent:\n%s", out)
	}
	fmt.Printf("board: in guest: %s\n", strings.ReplaceAll(strings.TrimSpace(out), "\n", "; "))
	return nil
}

// componentStatus is the part of `ota-agent status --json` read here.
type componentStatus struct {
	Name           string   `json:"name"`
	Version        string   `json:"version"`
	Phase          string   `json:"phase"`
	FailedVersions []string `json:"failed_versions"`
	LastError      string   `json:"last_error"`
	Progress       struct {
		Done  int64 `json:"done"`
		Total int64 `json:"total"`
	} `json:"progress"`
}

// status reads `ota-agent status --json` on the console.
func (r *rig) status(ctx context.Context) (map[string]componentStatus, error) {
	out, rc, err := r.vm.sh(ctx, "ota-agent -c /etc/ota-agent/agent.toml status --json | tr -d '\\n'; echo", 60*time.Second)
	if err != nil {
		return nil, err
	}
	var st struct {
		Components []componentStatus `json:"components"`
	}
	i := strings.Index(out, "{")
	if rc != 0 || i < 0 || json.Unmarshal([]byte(strings.TrimSpace(out[i:])), &st) != nil {
		return nil, fmt.Errorf("ota-agent status --json: exit %d: %s", rc, out)
	}
	m := map[string]componentStatus{}
	for _, c := range st.Components {
		m[c.Name] = c
	}
	return m, nil
}

// waitStatus polls status until ok accepts it, for up to d.
func (r *rig) waitStatus(ctx context.Context, d time.Duration, ok func(map[string]componentStatus) bool) (map[string]componentStatus, error) {
	end := time.Now().Add(d)
	var last map[string]componentStatus
	for time.Now().Before(end) {
		st, err := r.status(ctx)
		if err == nil && ok(st) {
			return st, nil
		}
		last = st
		r.vm.pause(ctx, 3*time.Second)
	}
	return last, fmt.Errorf("status never reached the expected state within %s: %+v", d, last)
}

// env reads the U-Boot environment of the powered-off disk with the real
// fw_printenv (libubootenv), at the env partition's offset in the image.
func (r *rig) env() (string, error) {
	cfg := filepath.Join(r.work, "fw_env.config")
	if err := os.WriteFile(cfg, []byte(filepath.Join(r.work, "disk.img")+" 0x900000 0x4000\n"), 0o644); err != nil {
		return "", err
	}
	out, err := exec.Command("fw_printenv", "-c", cfg).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("fw_printenv on the disk: %v: %s", err, out)
	}
	return string(out), nil
}

// poweroff shuts the guest down and waits for QEMU to exit.
func (r *rig) poweroff(ctx context.Context) error {
	fmt.Fprintf(r.vm.in, "systemctl poweroff\n")
	err := r.vm.wait(2 * time.Minute)
	r.vm = nil
	return err
}

// requests lists the fake server's log as "METHOD URI".
func (r *rig) requests() []string {
	var out []string
	for _, q := range r.api.Requests() {
		out = append(out, q.Method+" "+q.RequestURI)
	}
	return out
}

// checkEnv asserts the powered-off disk's env holds every line in want.
func (r *rig) checkEnv(want ...string) error {
	env, err := r.env()
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(env), "\n")
	for _, w := range want {
		if !slices.Contains(lines, w) {
			return fmt.Errorf("U-Boot env: want %s, have %q", w, lines)
		}
	}
	fmt.Printf("board: env after poweroff (fw_printenv): %s\n", strings.Join(lines, " "))
	return nil
}

func waitFile(p string, d time.Duration) error {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if _, err := os.Lstat(p); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s did not appear within %s", p, d)
}
