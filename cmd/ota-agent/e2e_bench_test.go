package main_test

// Whole-product figures for `make bench`: the real binary installing 256 MiB
// into an A/B slot from loopback HTTP against dd, its peak RSS, the idle
// daemon's RSS and CPU, and the stripped linux/arm64 binary size.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"ota-agent/cmd/internal/demo"
	"ota-agent/internal/peertest"
	"ota-agent/transport/download/downloadtest"
)

// BenchmarkE2EInstall256MiB: `ota-agent install URL` of a 256 MiB image
// into the inactive slot of a file-backed A/B rig (download, MD5 and SHA-256
// on the way, periodic syncs, final fsync, read-back verify, env switch)
// against `dd bs=1M conv=fsync` of the same bytes from a file into a file.
func BenchmarkE2EInstall256MiB(b *testing.B) {
	peertest.Need(b, "dd", "coreutils")
	const size = 256 << 20
	content := downloadtest.Content{Seed: 256, Size: size}
	md5h, _ := content.Digests()
	srv := downloadtest.New(content)
	defer srv.Close()
	src := filepath.Join(b.TempDir(), "image")
	writeContent(b, src, content)
	for b.Loop() {
		b.StopTimer()
		r := newBenchRig(b, size+(1<<20))
		b.StartTimer()
		t0 := time.Now()
		cmd := exec.Command(bin, "-c", r.cfg, "--log-level", "warn", "install", "--component", "rootfs", "--md5", md5h, "--version", "2.0.0", srv.URL+"/rootfs.img")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		hwm := peertest.WatchHWM(cmd.Process.Pid)
		if err := cmd.Wait(); err != nil {
			b.Fatalf("install: %v\n%s", err, out.Bytes())
		}
		ours := time.Since(t0)
		peak := hwm() // KiB
		t0 = time.Now()
		dd := exec.Command("dd", "if="+src, "of="+filepath.Join(r.dir, "dd-slot"), "bs=1M", "conv=fsync", "status=none")
		if out, err := dd.CombinedOutput(); err != nil {
			b.Fatalf("dd: %v\n%s", err, out)
		}
		theirs := time.Since(t0)
		b.ReportMetric(ours.Seconds(), "agent_s")
		b.ReportMetric(theirs.Seconds(), "dd_s")
		b.ReportMetric(ours.Seconds()/theirs.Seconds(), "ratio")
		b.ReportMetric(float64(peak)/1024, "peak_RSS_MiB")
	}
}

func writeContent(b *testing.B, path string, c downloadtest.Content) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for off := int64(0); off < c.Size; off += int64(len(buf)) {
		n, _ := c.ReadAt(buf, off)
		if _, err := f.Write(buf[:n]); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
}

// newBenchRig is an A/B rig with only the rootfs component.
func newBenchRig(b *testing.B, slot int64) *e2eRig {
	dir := b.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	dev, err := demo.StartDevice(ctx, dir, demo.DeviceOptions{SlotSize: slot})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { dev.Close() })
	srv, err := demo.NewServer("mxchip", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Close)
	r := &e2eRig{dev: dev, srv: srv, cfg: filepath.Join(dir, "agent.toml"), dir: dir}
	o := demo.ConfigOptions{StateDir: filepath.Join(dir, "state"), Components: []string{"rootfs", "mcu", "wifi"}, Policy: nil}
	if err := demo.WriteConfig(r.cfg, dev, srv, o); err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkE2EDaemonIdle runs `ota-agent run` (one check, then waiting for
// the next poll) for OTA_BENCH_IDLE (default 60s) and reports its resident
// memory and the CPU it used while idle.
func BenchmarkE2EDaemonIdle(b *testing.B) {
	idle := time.Minute
	if v := os.Getenv("OTA_BENCH_IDLE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("OTA_BENCH_IDLE=%q: %v", v, err)
		}
		idle = d
	}
	for b.Loop() {
		r := newBenchRig(b, 1<<20)
		cmd := exec.Command(bin, "-c", r.cfg, "--log-level", "warn", "run")
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		settle := time.NewTimer(2 * time.Second) // start-up and the first check
		<-settle.C
		cpu0 := procCPU(b, cmd.Process.Pid)
		t := time.NewTimer(idle)
		<-t.C
		cpu1 := procCPU(b, cmd.Process.Pid)
		rss := procStatusKiB(b, cmd.Process.Pid, "VmRSS:")
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		b.ReportMetric(float64(rss)/1024, "idle_RSS_MiB")
		b.ReportMetric(100*(cpu1-cpu0).Seconds()/idle.Seconds(), "idle_cpu_%")
	}
}

// procCPU returns utime+stime of pid from /proc/pid/stat.
func procCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

func procStatusKiB(b *testing.B, pid int, key string) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(l, key) {
			f := strings.Fields(l)
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	b.Fatalf("/proc/%d/status has no %s", pid, key)
	return 0
}

// BenchmarkE2EBinarySize builds the stripped linux/arm64 binary the way
// `make cross` does and reports its size.
func BenchmarkE2EBinarySize(b *testing.B) {
	for b.Loop() {
		out := filepath.Join(b.TempDir(), "ota-agent-arm64")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
		if o, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("go build linux/arm64: %v\n%s", err, o)
		}
		st, err := os.Stat(out)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(st.Size())/(1<<20), "arm64_MiB")
	}
}
