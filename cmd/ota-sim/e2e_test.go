package main_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ota-agent/cmd/internal/demo"
	"ota-agent/internal/peertest"
)

// TestE2EDemo runs `ota-sim demo` as a user would, with the ota-agent
// binary found next to ota-sim: no configuration, no root, exit 0, every
// part verified on the simulated hardware.
func TestE2EDemo(t *testing.T) {
	dir := t.TempDir()
	r := runBin(t, "demo", "--api", "aliyun", "--dir", dir)
	if r.code != 0 {
		t.Fatalf("demo: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"mcu 0.9.0 (default, 171", "bytes): skip: older than current 1.0.0", // a signed zip of 16384 image bytes
		"refused as it must be: rootfs 2.9.0 carries no signature by key", "restored mcu 1.2.0, wifi 1.2.0", "refused as it must be: the STM32 failed", "proved by minisign signature by key",
		"wifi 1.1.0: installed", "mcu 1.1.0: installed", "rootfs 2.0.0: written and armed",
		"MXChip module accepted wifi 1.2.0", "slot A holds rootfs 3.0.0",
		"U-Boot booted slot B", "rootfs 2.0.0 committed in slot B", "QueryOTAFirmware",
		"3 of 3 parts verified", "work directory kept: " + dir, "the real agent (" + agentBin() + ")",
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
		if !strings.Contains(r.stderr, "ota-sim: ") {
			t.Errorf("%v: no error line: %q", args, r.stderr)
		}
	}
}

// TestE2ESimulateSTM32 runs `ota-sim simulate stm32 --pty PATH` and has
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

// TestE2ESimulateYModemSB: the real lrzsz `sb --ymodem` sends into
// `ota-sim simulate ymodem --pty PATH --cli=false` through the link, in
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

// TestE2EDemoFindsNoAgent: ota-sim alone in a directory, with no ota-agent
// on $PATH, exits 1 saying what it tried and how to fix it; --agent with a
// path that is not an executable is a usage error (exit 2); --agent with the
// real binary in another directory runs the demo (help only, to stay quick:
// the flag is checked before anything starts).
func TestE2EDemoFindsNoAgent(t *testing.T) {
	lone := filepath.Join(t.TempDir(), "ota-sim")
	if err := os.WriteFile(lone, readFile(t, bin), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(lone, "demo")
	cmd.Env = append(os.Environ(), "PATH="+t.TempDir())
	r := runCmd(t, cmd)
	want := "ota-sim: demo: no ota-agent binary (tried " + filepath.Join(filepath.Dir(lone), "ota-agent") + ", $PATH); run `make build`"
	if r.code != 1 || !strings.HasPrefix(r.stderr, want) {
		t.Errorf("demo without ota-agent: exit %d, stderr %q; want exit 1 and prefix %q", r.code, r.stderr, want)
	}
	notExec := filepath.Join(t.TempDir(), "ota-agent")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runBin(t, "demo", "--agent", notExec)
	if want := "ota-sim: demo: --agent " + notExec + ": not executable (chmod +x?)\n"; r.code != 2 || r.stderr != want {
		t.Errorf("demo --agent (mode 0644): exit %d, stderr %q; want exit 2, %q", r.code, r.stderr, want)
	}
}

// TestE2EDemoAsUser runs the demo as an unprivileged user on a machine
// where root ran fw_printenv before (/var/lock/fw_printenv.lock owned by
// root, 0644): the demo's board uses its own lock file (ab.lock_file).
func TestE2EDemoAsUser(t *testing.T) {
	peertest.NeedRoot(t, "it runs the demo as user nobody next to a root-owned /var/lock/fw_printenv.lock")
	const lock = "/var/lock/fw_printenv.lock"
	if _, err := os.Stat(lock); os.IsNotExist(err) {
		if err := os.WriteFile(lock, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(lock) })
	}
	dir := filepath.Dir(bin)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	res := runCmd(t, exec.Command("runuser", "-u", "nobody", "--", bin, "demo", "--api", "akaso"))
	if res.code != 0 || !strings.Contains(res.stdout, "3 of 3 parts verified") {
		t.Fatalf("demo as nobody: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
}
