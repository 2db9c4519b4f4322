package grubenv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ota-agent/internal/peertest"
)

// editenv runs the real grub-editenv.
func editenv(t *testing.T, args ...string) string {
	t.Helper()
	return peertest.Run(t, "grub-editenv", "grub-common", args...)
}

var menderFactory = []string{"bootcount=0", "mender_boot_part=2", "upgrade_available=0"}

// newLayout makes grub-mender-grubenv's layout with the real grub-editenv,
// as make-env-and-lock-files does, lock.sha256sum included.
func newLayout(t *testing.T) *Pair {
	t.Helper()
	p := NewPair(t.TempDir())
	for i := 1; i <= 2; i++ {
		os.MkdirAll(filepath.Dir(p.EnvPath(i)), 0o755)
		editenv(t, p.EnvPath(i), "create")
		editenv(t, append([]string{p.EnvPath(i), "set"}, menderFactory...)...)
		editenv(t, p.LockPath(i), "create")
		editenv(t, p.LockPath(i), "set", "editing=0")
		sha256sum(t, filepath.Dir(p.LockPath(i)), "lock")
	}
	return p
}

// sha256sum runs coreutils sha256sum in dir: with one argument it writes
// lock.sha256sum, with "-c" it checks it.
func sha256sum(t *testing.T, dir string, args ...string) error {
	t.Helper()
	cmd := exec.Command("sha256sum", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if len(args) == 1 && err == nil {
		err = os.WriteFile(filepath.Join(dir, "lock.sha256sum"), out, 0o644)
	}
	if err != nil {
		return fmt.Errorf("sha256sum %v: %v: %s", args, err, out)
	}
	return nil
}

func setBoot(part string) func(*Env) error {
	return func(e *Env) error {
		e.Set("mender_boot_part", part)
		e.Set("upgrade_available", "1")
		return nil
	}
}

// TestPairPeer: what Update writes, grub-editenv lists in both copies, the
// locks say editing=0 and still match lock.sha256sum (sha256sum -c, as
// grub-mender-grubenv-print checks them); a change grub-editenv makes to
// copy 1 is what Read returns.
func TestPairPeer(t *testing.T) {
	p := newLayout(t)
	if err := p.Update(setBoot("3")); err != nil {
		t.Fatal(err)
	}
	want := "bootcount=0\nmender_boot_part=3\nupgrade_available=1\n"
	for i := 1; i <= 2; i++ {
		if got := editenv(t, p.EnvPath(i), "list"); got != want {
			t.Errorf("copy %d: grub-editenv list = %q, want %q", i, got, want)
		}
		if got := editenv(t, p.LockPath(i), "list"); got != "editing=0\n" {
			t.Errorf("lock %d: grub-editenv list = %q, want editing=0", i, got)
		}
		if err := sha256sum(t, filepath.Dir(p.LockPath(i)), "-c", "lock.sha256sum"); err != nil {
			t.Errorf("lock %d: %v", i, err)
		}
	}
	editenv(t, p.EnvPath(1), "set", "bootcount=1")
	e, err := p.Read()
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := e.Get("bootcount"); v != "1" {
		t.Errorf("Read after grub-editenv set bootcount=1: bootcount=%q", v)
	}
}

// cutter makes p's n-th write (0-based) a torn one: the first keep bytes of
// the new block land, a damaged stretch follows, then the old bytes stay;
// the write and all later ones fail, as after a power cut.
func cutter(p *Pair, n, keep int) *int {
	calls := 0
	p.put = func(path string, e *Env) error {
		defer func() { calls++ }()
		switch {
		case calls < n:
			return WriteFile(path, e)
		case calls > n:
			return errors.New("power is off")
		}
		old, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		buf, err := e.Encode(len(old))
		if err != nil {
			return err
		}
		copy(old, buf[:keep])
		copy(old[keep:min(len(old), keep+64)], make([]byte, 64))
		os.WriteFile(path, old, 0o644)
		return errors.New("power cut")
	}
	return &calls
}

// grubView plays mender_check_and_restore_env and mender_load_env: which
// mender_boot_part GRUB boots after the power comes back ("" = the
// environment is corrupt).
func grubView(p *Pair) string {
	editing := func(i int) string {
		l, err := ReadFile(p.LockPath(i))
		if err != nil {
			return "invalid"
		}
		v, _ := l.Get(VarEditing)
		return v
	}
	src := p.EnvPath(1)
	if editing(2) == "0" && editing(1) != "0" {
		src = p.EnvPath(2) // env1 is restored from env2 before load_env
	}
	e, err := ReadFile(src)
	if err != nil {
		return ""
	}
	v, _ := e.Get("mender_boot_part")
	return v
}

func snapshot(t *testing.T, p *Pair) map[string][]byte {
	m := map[string][]byte{}
	for i := 1; i <= 2; i++ {
		for _, f := range []string{p.EnvPath(i), p.LockPath(i)} {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m[f] = b
		}
	}
	return m
}

func restore(p *Pair, snap map[string][]byte) {
	for f, b := range snap {
		os.WriteFile(f, b, 0o644)
	}
}

// TestPairTornWrite cuts the power at every write of an Update (and of the
// restore of a broken copy 1), at several points inside the block: Read
// and GRUB then agree on the old or the new partition, never on neither,
// and the next Update repairs both copies.
func TestPairTornWrite(t *testing.T) {
	starts := map[string]func(t *testing.T, p *Pair){
		"both valid": func(t *testing.T, p *Pair) {},
		"copy 1 torn": func(t *testing.T, p *Pair) {
			editenv(t, p.LockPath(1), "set", "editing=1")
			os.WriteFile(p.EnvPath(1), bytes.Repeat([]byte{0}, DefaultSize), 0o644)
		},
		"copy 2 torn": func(t *testing.T, p *Pair) {
			editenv(t, p.LockPath(2), "set", "editing=1")
			os.WriteFile(p.EnvPath(2), []byte(Signature+"bootcou"+strings.Repeat("\x00", DefaultSize-32)), 0o644)
		},
	}
	cuts := 0
	for name, start := range starts {
		t.Run(name, func(t *testing.T) {
			p := newLayout(t)
			start(t, p)
			snap := snapshot(t, p)
			for n := 0; n < 9; n++ {
				for _, keep := range []int{0, 10, 30, 512} {
					restore(p, snap)
					calls := cutter(p, n, keep)
					err := p.Update(setBoot("3"))
					if *calls <= n { // the Update had fewer writes
						if err != nil {
							t.Fatalf("uncut Update: %v", err)
						}
						continue
					}
					cuts++
					checkAfterCut(t, p, fmt.Sprintf("cut at write %d after %d bytes", n, keep))
				}
			}
		})
	}
	t.Logf("%d torn writes", cuts)
	if cuts < 60 {
		t.Errorf("only %d torn writes exercised", cuts)
	}
}

func checkAfterCut(t *testing.T, p *Pair, step string) {
	t.Helper()
	p.put = WriteFile
	e, err := p.Read()
	if err != nil {
		t.Fatalf("%s: Read = %v, want the old or the new environment", step, err)
	}
	ours, _ := e.Get("mender_boot_part")
	if g := grubView(p); g != ours || (ours != "2" && ours != "3") {
		t.Fatalf("%s: GRUB boots mender_boot_part=%q, Read says %q; want both 2 or both 3", step, g, ours)
	}
	if err := p.Update(setBoot("3")); err != nil {
		t.Fatalf("%s: Update after the cut: %v", step, err)
	}
	for i := 1; i <= 2; i++ {
		if _, err := p.load(i); err != nil {
			t.Errorf("%s: after the next Update copy %d: %v", step, i, err)
		}
	}
}

// TestPairBothInvalid: with neither copy complete, Read and Update refuse
// with ErrPairInvalid and write nothing.
func TestPairBothInvalid(t *testing.T) {
	p := newLayout(t)
	editenv(t, p.LockPath(1), "set", "editing=1")
	os.WriteFile(p.LockPath(2), []byte("garbage"), 0o644)
	snap := snapshot(t, p)
	if _, err := p.Read(); !errors.Is(err, ErrPairInvalid) {
		t.Errorf("Read = %v, want ErrPairInvalid", err)
	}
	if err := p.Update(setBoot("3")); !errors.Is(err, ErrPairInvalid) {
		t.Errorf("Update = %v, want ErrPairInvalid", err)
	}
	for f, b := range snapshot(t, p) {
		if !bytes.Equal(b, snap[f]) {
			t.Errorf("%s changed", f)
		}
	}
}

// TestPairMissing: a missing layout is an error naming the file.
func TestPairMissing(t *testing.T) {
	p := NewPair(t.TempDir())
	if _, err := p.Read(); !errors.Is(err, ErrPairInvalid) || !strings.Contains(err.Error(), "mender_grubenv1/lock") {
		t.Errorf("Read = %v, want ErrPairInvalid naming mender_grubenv1/lock", err)
	}
}

// FuzzPairTornCopy: whatever copy 1 holds (any lock and env bytes, as a
// torn write or a damaged FAT sector may leave), with copy 2 complete, Read
// returns an environment, GRUB boots one of the two partitions, and an
// Update leaves both copies complete with the change.
func FuzzPairTornCopy(f *testing.F) {
	lock0, _ := (&Env{Vars: []Var{{VarEditing, "0"}}}).Encode(DefaultSize)
	env, _ := (&Env{Vars: []Var{{"bootcount", "0"}, {"mender_boot_part", "2"}, {"upgrade_available", "0"}}}).Encode(DefaultSize)
	f.Add(lock0, env)
	f.Add(lock0[:40], env[:30])
	f.Add([]byte(Signature+"editing=1\n"), []byte{})
	f.Add([]byte(Signature+"editing=0\n"), []byte(Signature+"mender_boot_part=3\nbootcount"))
	f.Fuzz(func(t *testing.T, lock1, env1 []byte) {
		p := NewPair(t.TempDir())
		for i, b := range [][2][]byte{{lock1, env1}, {lock0, env}} {
			os.MkdirAll(filepath.Dir(p.EnvPath(i+1)), 0o755)
			os.WriteFile(p.LockPath(i+1), b[0], 0o644)
			os.WriteFile(p.EnvPath(i+1), b[1], 0o644)
		}
		e, err := p.Read()
		if err != nil {
			t.Fatalf("Read with copy 2 complete: %v", err)
		}
		if g := grubView(p); g != "" && g != mustGet(e, "mender_boot_part") {
			t.Fatalf("GRUB boots %q, Read says %q", g, mustGet(e, "mender_boot_part"))
		}
		err = p.Update(setBoot("3"))
		if err != nil && !errors.Is(err, ErrTooSmall) && !strings.Contains(err.Error(), "shorter than the signature") {
			t.Fatalf("Update: %v", err)
		}
		if err != nil { // copy 1 is too short to hold the environment
			if c, err := p.load(2); err != nil || mustGet(c, "mender_boot_part") != "2" {
				t.Fatalf("after a refused Update copy 2: %v %v", c, err)
			}
			return
		}
		for i := 1; i <= 2; i++ {
			c, err := p.load(i)
			if err != nil || mustGet(c, "mender_boot_part") != "3" {
				t.Fatalf("after Update copy %d: %v %v", i, c, err)
			}
		}
	})
}

func mustGet(e *Env, k string) string {
	v, _ := e.Get(k)
	return v
}
