package systemd

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"ota-agent/internal/peertest"
)

// listen sets NOTIFY_SOCKET to a unixgram socket and returns it.
func listen(t *testing.T) *net.UnixConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return c
}

// received returns the messages queued on c, without waiting for more.
func received(t *testing.T, c *net.UnixConn) []string {
	t.Helper()
	var out []string
	buf := make([]byte, 4096)
	for {
		// The datagrams are already queued (SdNotify returned); a past
		// deadline makes the read return what is there and then stop.
		_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		n, err := c.Read(buf)
		if err != nil {
			return out
		}
		out = append(out, string(buf[:n]))
	}
}

func TestNotifyMessages(t *testing.T) {
	c := listen(t)
	t.Setenv("WATCHDOG_USEC", "4000000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	n := New(nil)
	clock := time.Unix(1000, 0)
	n.now = func() time.Time { return clock }

	n.Ready()
	n.Status("downloading rootfs 2.0.0")
	n.Progress("downloading rootfs 2.0.0: 10%") // within StatusInterval of the last: dropped
	clock = clock.Add(StatusInterval)
	n.Progress("downloading rootfs 2.0.0: 20%")
	if got, want := n.WatchdogInterval(), 2*time.Second; got != want {
		t.Errorf("WatchdogInterval = %v, want %v", got, want)
	}
	if !n.Watchdog(2 * time.Second) {
		t.Error("Watchdog after progress did not ping")
	}
	clock = clock.Add(5 * time.Second) // silent for more than 2×interval
	if n.Watchdog(2 * time.Second) {
		t.Error("Watchdog pinged for a loop silent for 5s")
	}
	n.Alive()
	n.Watchdog(2 * time.Second)
	n.Stopping()

	want := []string{
		"READY=1",
		"STATUS=downloading rootfs 2.0.0",
		"STATUS=downloading rootfs 2.0.0: 20%",
		"WATCHDOG=1",
		"WATCHDOG=1",
		"STOPPING=1",
	}
	if diff := cmp.Diff(want, received(t, c)); diff != "" {
		t.Errorf("notify messages (-want +got):\n%s", diff)
	}
}

func TestNoSocketIsQuiet(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "")
	n := New(nil)
	n.Ready()
	n.Status("x")
	if d := n.WatchdogInterval(); d != 0 {
		t.Errorf("WatchdogInterval without systemd = %v, want 0", d)
	}
}

// render is Unit for the default configuration file.
func render(t *testing.T, path string, args []string) string {
	t.Helper()
	u, err := Unit("ota-agent firmware update agent", path, args, "/etc/ota-agent/agent.toml", "/var/lib/ota-agent")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestUnitVerifies(t *testing.T) {
	analyze := peertest.Need(t, "systemd-analyze", "systemd")
	exe, err := os.Executable() // a real executable for ExecStart
	if err != nil {
		t.Fatal(err)
	}
	unit := render(t, exe, []string{"-c", "/etc/ota-agent/agent.toml", "run"})
	for _, line := range []string{"Type=notify", "WatchdogSec=" + WatchdogSec, "Restart=on-failure", "ConditionPathExists=/etc/ota-agent/agent.toml", "ExecStart=" + exe + ` "-c" "/etc/ota-agent/agent.toml" "run"`} {
		if !strings.Contains(unit, "\n"+line+"\n") {
			t.Errorf("unit lacks line %q:\n%s", line, unit)
		}
	}
	file := filepath.Join(t.TempDir(), ServiceName+".service")
	if err := os.WriteFile(file, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	// --man=no: the man page comes with the package, not with the test.
	out, err := exec.Command(analyze, "verify", "--man=no", file).CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Fatalf("systemd-analyze verify %s: %v\n%s\nunit:\n%s", file, err, out, unit)
	}
}
