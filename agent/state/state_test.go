package state_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"ota-agent/agent/state"
	"ota-agent/transport"
)

const childEnv = "OTA_STATE_KILL_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		os.Exit(writeForever(dir))
	}
	os.Exit(m.Run())
}

// gen returns the i-th state the child writes: deterministic, and of varying
// size so that writes differ in length.
func gen(i int) *state.State {
	st := &state.State{LastCheck: time.Unix(int64(1700000000+i), 0).UTC()}
	c := st.Component("rootfs")
	c.Version = "1.0." + strconv.Itoa(i)
	c.Phase = []state.Phase{state.Idle, state.Downloading, state.Verifying, state.Installing, state.Rebooting}[i%5]
	c.Progress = state.Progress{Done: int64(i) * 4096, Total: 1 << 30}
	c.Attempts = map[string]int{"n": i}
	for j := range i % 7 {
		st.Reports = append(st.Reports, transport.Report{Component: "rootfs", Version: fmt.Sprintf("2.%d.%d", i, j), Event: transport.EventDownload, Reason: strings.Repeat("x", i%300)})
	}
	return st
}

func writeForever(dir string) int {
	s, err := state.Open(dir, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	st, err := s.Read()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	i := 0
	if c := st.Components["rootfs"]; c != nil {
		i = c.Attempts["n"] + 1
	}
	for ; ; i++ {
		if err := s.Save(gen(i)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		if i%3 == 0 {
			fmt.Println("saved", i)
		}
	}
}

// TestKillAtRandom SIGKILLs a process that saves state in a loop, a few
// hundred times at random instants: the file must always parse and equal
// one of the states written.
func TestKillAtRandom(t *testing.T) {
	dir := t.TempDir()
	rounds := 250
	if testing.Short() {
		rounds = 40
	}
	deadline := time.Now().Add(15 * time.Second)
	last := -1
	for r := 0; r < rounds && time.Now().Before(deadline); r++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(out)
		if _, err := br.ReadString('\n'); err != nil { // the child has saved at least once
			t.Fatalf("round %d: child wrote nothing: %v; stderr: %s", r, err, stderr.String())
		}
		go func() { _, _ = br.WriteTo(io.Discard) }()
		timer := time.NewTimer(time.Duration(rand.IntN(3000)) * time.Microsecond)
		<-timer.C
		_ = cmd.Process.Signal(syscall.SIGKILL)
		werr := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(werr, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child ended with %v, want SIGKILL; stderr: %s", r, werr, stderr.String())
		}
		b, err := os.ReadFile(filepath.Join(dir, state.FileName))
		if err != nil {
			t.Fatalf("round %d: %v", r, err)
		}
		got, err := state.Decode(b)
		if err != nil {
			t.Fatalf("round %d: state does not parse after SIGKILL: %v\n%s", r, err, b)
		}
		n := got.Components["rootfs"].Attempts["n"]
		if diff := cmp.Diff(gen(n), got); diff != "" {
			t.Fatalf("round %d: state %d differs from what was written (-want +got):\n%s", r, n, diff)
		}
		if n < last {
			t.Fatalf("round %d: state went back from %d to %d", r, last, n)
		}
		last = n
	}
	if last < 0 {
		t.Fatal("no round ran")
	}
	t.Logf("last state index %d", last)
}

func TestLoadCorruptMovesAside(t *testing.T) {
	dir := t.TempDir()
	garbage := []byte("{\"components\": {\"rootfs\": {\"phase\": \"downl")
	if err := os.WriteFile(filepath.Join(dir, state.FileName), garbage, 0o640); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s, err := state.Open(dir, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(); !errors.As(err, new(*state.CorruptError)) {
		t.Fatalf("Read = %v, want *CorruptError", err)
	}
	st, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(st.Warning, "corrupt") {
		t.Errorf("Warning = %q, want it to say corrupt", st.Warning)
	}
	aside, _ := filepath.Glob(filepath.Join(dir, state.FileName+".corrupt-*"))
	if len(aside) != 1 {
		t.Fatalf("corrupt copies = %v, want 1", aside)
	}
	if b, _ := os.ReadFile(aside[0]); !bytes.Equal(b, garbage) {
		t.Errorf("moved-aside file = %q, want the original bytes", b)
	}
	// A fresh state carrying the warning replaces it at once.
	if fresh, err := s.Read(); err != nil || fresh.Warning != st.Warning {
		t.Errorf("state.json after moving aside = %+v, %v; want the fresh state with the warning", fresh, err)
	}
	if !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("log = %q, want an ERROR line", logs.String())
	}
	// The warning survives a save and reload.
	if err := s.Save(st); err != nil {
		t.Fatal(err)
	}
	again, err := s.Load()
	if err != nil || again.Warning != st.Warning {
		t.Errorf("reload = %+v, %v; want the warning kept", again, err)
	}
}

func TestLoadRejectsUnknownPhase(t *testing.T) {
	_, err := state.Decode([]byte(`{"components":{"rootfs":{"phase":"exploding"}}}`))
	if err == nil || !strings.Contains(err.Error(), `unknown phase "exploding"`) {
		t.Errorf("Decode = %v, want unknown phase error", err)
	}
}

func TestLockRefusesSecond(t *testing.T) {
	dir := t.TempDir()
	a, _ := state.Open(dir, nil)
	b, _ := state.Open(dir, nil)
	if err := a.Lock(); err != nil {
		t.Fatal(err)
	}
	err := b.Lock()
	var le *state.LockedError
	if !errors.As(err, &le) || le.PID != os.Getpid() || !errors.Is(err, state.ErrLocked) {
		t.Fatalf("second Lock = %v, want LockedError with pid %d", err, os.Getpid())
	}
	want := fmt.Sprintf("another ota-agent (pid %d) holds %s", os.Getpid(), filepath.Join(dir, "lock"))
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error = %q, want it to contain %q", err, want)
	}
	if err := a.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := b.Lock(); err != nil {
		t.Fatalf("Lock after Unlock = %v", err)
	}
	_ = b.Unlock()
}

func TestSaveLeavesNoTemps(t *testing.T) {
	dir := t.TempDir()
	s, _ := state.Open(dir, nil)
	// A temp file from a save killed before its rename.
	// Both the old name and the one atomicfile.Replace actually uses.
	for _, name := range []string{".state.json.tmp-123", ".state.json.tmp2718281828"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("{"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Load(); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(gen(3)); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"state.json"}, names); diff != "" {
		t.Errorf("directory (-want +got):\n%s", diff)
	}
}

func FuzzDecode(f *testing.F) {
	for _, i := range []int{0, 1, 7, 12} {
		b, _ := state.Encode(gen(i))
		f.Add(b)
	}
	full := gen(4)
	c := full.Component("mcu")
	c.Held = &state.Held{Offer: transport.Offer{Component: "mcu", Version: "2.0", UpgradeType: transport.Prompt}, Since: time.Unix(1, 0).UTC()}
	c.MarkFailed("1.9", "verify failed", time.Unix(2, 0))
	full.Decisions = []state.Decision{{Component: "mcu", Version: "2.0", Action: "hold", Reason: "prompt"}}
	full.Warning = "w"
	b, _ := state.Encode(full)
	f.Add(b)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"components":{"":null}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := state.Decode(b)
		if err != nil {
			return
		}
		enc, err := state.Encode(st)
		if err != nil {
			t.Fatalf("Encode after Decode: %v", err)
		}
		st2, err := state.Decode(enc)
		if err != nil {
			t.Fatalf("re-decode: %v\n%s", err, enc)
		}
		enc2, _ := state.Encode(st2)
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encode not stable:\n%s\n%s", enc, enc2)
		}
	})
}

// BenchmarkSave measures one atomic state write (temp file, fsync, rename,
// directory fsync): the cost of every persisted phase change.
func BenchmarkSave(b *testing.B) {
	s, err := state.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	st := gen(6)
	for b.Loop() {
		if err := s.Save(st); err != nil {
			b.Fatal(err)
		}
	}
}
