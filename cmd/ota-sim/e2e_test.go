package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"ota-agent/platform/peertest"
)

// TestE2EDemo runs `ota-agent demo` as a user would: no configuration,
// no root, exit 0, every part verified on the simulated hardware.
func TestE2EDemo(t *testing.T) {
	dir := t.TempDir()
	r := runBin(t, "demo", "--api", "aliyun", "--dir", dir)
	if r.code != 0 {
		t.Fatalf("demo: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"mcu 0.9.0 (default, 171", "bytes): skip: older than current 1.0.0", // a signed zip of 16384 image bytes
		"refused as it must be: rootfs 9.9.9 carries no signature by key", "proved by minisign signature by key",
		"wifi 1.1.0: installed", "mcu 1.1.0: installed", "rootfs 2.0.0: written and armed",
		"MXChip module accepted wifi 1.1.0",
		"U-Boot booted slot B", "rootfs 2.0.0 committed in slot B", "QueryOTAFirmware",
		"3 of 3 parts verified", "work directory kept: " + dir,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, r.stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "agent.toml")); err != nil {
		t.Errorf("--dir was not kept: %v", err)
	}
}

func TestE2EDemoAndSimulateUsage(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "--api", "nosuch"},
		{"demo", "extra"},
		{"simulate"},
		{"simulate", "toaster", "--pty", "/tmp/x"},
		{"simulate", "stm32"},
		{"simulate", "esp", "--pty", "/tmp/x", "--faults", "2"},
		{"simulate", "ymodem", "--pty", "/tmp/x", "--mode", "pedantic"},
		{"simulate", "ymodem", "--pty", "/tmp/x", "--fault", "gremlin:3"},
	} {
		r := runBin(t, args...)
		if r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, "ota-agent: ") {
			t.Errorf("%v: no error line: %q", args, r.stderr)
		}
	}
}

// TestE2ESimulateSTM32 runs `ota-agent simulate stm32 --pty PATH` and has
// the real stm32flash identify the simulated part through the link; SIGINT
// stops it with exit 0 and the link removed.
func TestE2ESimulateSTM32(t *testing.T) {
	peertest.Need(t, "stm32flash", "stm32flash")
	link := filepath.Join(t.TempDir(), "ttySIM")
	sim := exec.Command(bin, "simulate", "stm32", "--pty", link, "--baud-model")
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, link)
	out, err := exec.Command("stm32flash", "-b", "115200", "-m", "8n1", link).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "0x0410") {
		t.Errorf("stm32flash against the simulator: %v\n%s", err, out)
	}
	_ = sim.Process.Signal(syscall.SIGINT)
	if err := sim.Wait(); err != nil {
		t.Errorf("simulate after SIGINT: %v, want exit 0", err)
	}
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Errorf("link %s left behind (%v)", link, err)
	}
}

// waitFor waits up to 10 s for path to appear.
func waitFor(t *testing.T, path string) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		if _, err := os.Lstat(path); err == nil {
			return
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("%s did not appear within 10s", path)
		}
	}
}

// TestE2ESimulateStops: each simulator comes up on its link and SIGINT or
// SIGTERM stops it with exit 0 and the link removed.
func TestE2ESimulateStops(t *testing.T) {
	for _, dev := range []string{"stm32", "ymodem", "esp"} {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
			t.Run(dev+"/"+sig.String(), func(t *testing.T) {
				link := filepath.Join(t.TempDir(), "tty"+dev)
				sim := exec.Command(bin, "simulate", dev, "--pty", link, "--seed", "7", "--faults", "0.01")
				if err := sim.Start(); err != nil {
					t.Fatal(err)
				}
				waitFor(t, link)
				_ = sim.Process.Signal(sig)
				if err := sim.Wait(); err != nil {
					t.Errorf("simulate %s after %v: %v, want exit 0", dev, sig, err)
				}
				if _, err := os.Lstat(link); !os.IsNotExist(err) {
					t.Errorf("link %s left behind (%v)", link, err)
				}
			})
		}
	}
}
