package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// board is what `make board` built.
type board struct {
	dir   string // the build directory
	runs  string // where each scenario's run-NAME work directory goes (dir unless set)
	uboot string // U-Boot for qemu_arm64
	self  string // this executable, for guestfwd's connect
	seed  int64  // the power-cut campaign's seed
	cuts  int    // the power-cut campaign's number of cuts
}

// openBoard checks that dir holds a built board and that QEMU is here.
func openBoard(dir string) (*board, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	b := &board{dir: abs, runs: abs, uboot: "/usr/lib/u-boot/qemu_arm64/u-boot.bin"}
	for _, f := range []string{b.path("disk.img"), b.path("slot-2.0.0.ext4"), b.path("slot-2.1.0.ext4"), b.uboot} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("board: %s missing: run make board (u-boot-qemu for U-Boot)", f)
		}
	}
	if _, err := exec.LookPath("qemu-system-aarch64"); err != nil {
		return nil, fmt.Errorf("board: qemu-system-aarch64 not found: apt-get install qemu-system-arm")
	}
	if b.self, err = os.Executable(); err != nil {
		return nil, fmt.Errorf("board: find own executable: %w", err)
	}
	return b, nil
}

func (b *board) path(name string) string { return filepath.Join(b.dir, name) }

// lock takes the board's lock file (flock, blocking): one QEMU board runs at
// a time on this machine, whether started by make board-test or make test.
// The lock goes with the returned file's Close (or the process's end).
func (b *board) lock() (*os.File, error) {
	f, err := os.OpenFile(b.path(".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("board: open lock file: %w (is %s writable?)", err, b.dir)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
		return f, nil
	}
	fmt.Printf("board: waiting for %s (another board run holds it)\n", f.Name())
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("board: lock %s: %w", f.Name(), err)
	}
	return f, nil
}

// vmConfig is one QEMU start.
type vmConfig struct {
	disk    string // the board's disk image (a scenario's copy)
	mcuPty  string // host pty of the MCU simulator, behind pci-serial
	apiAddr string // 127.0.0.1:PORT of the fake OTA server
	logPath string // the serial console is appended here
}

// vm is a running QEMU with the board's serial console.
type vm struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	con  *console
	done chan error
}

// qemuArgs is the board: virt machine, U-Boot as firmware, the disk on
// virtio-blk, the MCU's UART on pci-serial (ttyS0), user-mode network with
// restrict=on whose only way out is guestfwd 10.0.2.100:80 to the fake server.
func (b *board) qemuArgs(c vmConfig) []string {
	fwd := fmt.Sprintf("guestfwd=tcp:10.0.2.100:80-cmd:%s connect %s", b.self, c.apiAddr)
	return []string{
		"-M", "virt", "-cpu", "cortex-a72", "-smp", "2", "-m", "1024",
		"-display", "none", "-monitor", "none", "-no-user-config", "-nodefaults",
		"-bios", b.uboot,
		"-chardev", "stdio,id=con,signal=off", "-serial", "chardev:con",
		"-drive", "file=" + c.disk + ",if=none,format=raw,id=d0",
		"-device", "virtio-blk-pci,drive=d0",
		"-netdev", "user,id=n0,restrict=on," + fwd,
		"-device", "virtio-net-pci,netdev=n0",
		"-chardev", "serial,id=mcu,path=" + c.mcuPty,
		"-device", "pci-serial,chardev=mcu",
	}
}

// start boots QEMU; the console is read from the first byte.
func (b *board) start(c vmConfig) (*vm, error) {
	log, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("qemu-system-aarch64", b.qemuArgs(c)...)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start qemu-system-aarch64: %w", err)
	}
	v := &vm{cmd: cmd, in: in, con: newConsole(), done: make(chan error, 1)}
	go func() { v.con.pump(out, log); log.Close() }()
	go func() { v.done <- cmd.Wait() }()
	return v, nil
}

// kill cuts the board's power: SIGKILL to QEMU.
func (v *vm) kill() {
	_ = v.cmd.Process.Kill()
	<-v.done
	v.done <- nil
}

// wait waits for QEMU to exit (a poweroff) within d.
func (v *vm) wait(d time.Duration) error {
	select {
	case err := <-v.done:
		v.done <- err
		return err
	case <-time.After(d):
		return fmt.Errorf("qemu did not exit within %s", d)
	}
}

// console collects the serial output; waiters look for patterns in it.
type console struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	mark int // waits search from here
	wake chan struct{}
	eof  bool
}

func newConsole() *console { return &console{wake: make(chan struct{})} }

// pump reads the console until EOF, copying it to log.
func (c *console) pump(r io.Reader, log io.Writer) {
	b := make([]byte, 4096)
	for {
		n, err := r.Read(b)
		c.mu.Lock()
		c.buf.Write(b[:n])
		if err != nil {
			c.eof = true
		}
		close(c.wake)
		c.wake = make(chan struct{})
		c.mu.Unlock()
		_, _ = log.Write(b[:n])
		if err != nil {
			return
		}
	}
}

// expect waits up to d for re after the mark, moves the mark past the match
// and returns the submatches.
func (c *console) expect(ctx context.Context, re *regexp.Regexp, d time.Duration) ([]string, error) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		text := c.buf.String()[c.mark:]
		wake, eof := c.wake, c.eof
		if loc := re.FindStringSubmatchIndex(text); loc != nil {
			c.mark += loc[1]
			c.mu.Unlock()
			return submatches(text, loc), nil
		}
		c.mu.Unlock()
		if eof {
			return nil, fmt.Errorf("console: qemu exited before %q; last output: %s", re, tail(text))
		}
		select {
		case <-wake:
		case <-deadline.C:
			return nil, fmt.Errorf("console: no %q within %s; last output: %s", re, d, tail(text))
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func submatches(text string, loc []int) []string {
	var out []string
	for i := 0; i+1 < len(loc); i += 2 {
		if loc[i] < 0 {
			out = append(out, "")
			continue
		}
		out = append(out, text[loc[i]:loc[i+1]])
	}
	return out
}

// tail is the end of the console text for an error message.
func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 600 {
		s = "…" + s[len(s)-600:]
	}
	return strings.ReplaceAll(s, "\r", "")
}

// sh runs one shell command at the root prompt and returns its output and
// exit status. The end marker is split in the typed line so that the echo of
// the command cannot match it.
func (v *vm) sh(ctx context.Context, command string, d time.Duration) (string, int, error) {
	if _, err := fmt.Fprintf(v.in, "%s; echo \"@@E\"\"ND $?@@\"\n", command); err != nil {
		return "", -1, err
	}
	m, err := v.con.expect(ctx, regexp.MustCompile(`(?s)\n(.*?)@@END (\d+)@@`), d)
	if err != nil {
		return "", -1, fmt.Errorf("%s: %w", command, err)
	}
	rc := 0
	fmt.Sscan(m[2], &rc)
	out := m[1]
	if i := strings.Index(out, "\n"); i >= 0 && strings.Contains(out[:i], "@@E") {
		out = out[i+1:] // the echoed command line
	}
	return strings.ReplaceAll(out, "\r", ""), rc, nil
}

// login waits for the autologin shell on the console after a boot.
func (v *vm) login(ctx context.Context, d time.Duration) error {
	if _, err := v.con.expect(ctx, regexp.MustCompile(`root@board:~# `), d); err != nil {
		return err
	}
	_, _, err := v.sh(ctx, "stty -echo; export PAGER=cat SYSTEMD_PAGER=cat SYSTEMD_COLORS=0", 30*time.Second)
	return err
}

// pause gives the console a moment before a command is typed.
func (v *vm) pause(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
