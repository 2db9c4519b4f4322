package grubenv

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"ota-agent/platform/atomicfile"
)

// DefaultPairDir is where grub-mender-grubenv keeps its two environments on
// an EFI system (grub-mender-grubenv-print looks here first).
const DefaultPairDir = "/boot/efi/grub-mender-grubenv"

// DefaultPairLock is the flock grub-mender-grubenv-set (Mender's
// fw_setenv on GRUB) holds around a change. GRUB itself takes no lock.
const DefaultPairLock = "/var/lock/grub-mender-grubenv-set.lock"

// VarEditing is the lock files' only variable: 0 when the env next to it
// is complete, anything else (or an unreadable lock) while it is written.
const VarEditing = "editing"

// ErrPairInvalid means neither copy of a Pair is complete.
var ErrPairInvalid = errors.New("both grub-mender-grubenv copies are invalid")

// Pair is grub-mender-grubenv's redundant environment in Dir:
// mender_grubenv1/env with mender_grubenv1/lock, and the same under
// mender_grubenv2. GRUB has no checksum, so each env has a lock block that
// says editing=1 while the env is being written. A writer finishes copy 2
// (lock=1, env, lock=0) before it starts copy 1, so a torn write leaves at
// most one copy invalid. GRUB's mender_check_and_restore_env repairs an
// invalid copy from the other, then loads mender_grubenv1/env.
//
// A Pair takes no lock itself; hold DefaultPairLock around Update to keep
// out grub-mender-grubenv-set. Files are rewritten in place (WriteFile).
type Pair struct {
	Dir string
	put func(path string, e *Env) error // WriteFile; tests cut power here
}

// NewPair returns the Pair in dir.
func NewPair(dir string) *Pair { return &Pair{Dir: dir, put: WriteFile} }

// EnvPath returns the env file of copy i (1 or 2).
func (p *Pair) EnvPath(i int) string { return p.file(i, "env") }

// LockPath returns the lock file of copy i (1 or 2).
func (p *Pair) LockPath(i int) string { return p.file(i, "lock") }

func (p *Pair) file(i int, name string) string {
	return filepath.Join(p.Dir, fmt.Sprintf("mender_grubenv%d", i), name)
}

func (p *Pair) String() string { return "grub-mender-grubenv " + p.Dir }

// load reads copy i: an error unless its lock says editing=0 and its env
// parses.
func (p *Pair) load(i int) (*Env, error) {
	l, err := ReadFile(p.LockPath(i))
	if err != nil {
		return nil, fmt.Errorf("copy %d lock: %w", i, err)
	}
	if v, _ := l.Get(VarEditing); v != "0" {
		return nil, fmt.Errorf("copy %d: %s says %s=%q: a write to it did not finish", i, p.LockPath(i), VarEditing, v)
	}
	e, err := ReadFile(p.EnvPath(i))
	if err != nil {
		return nil, fmt.Errorf("copy %d: %w", i, err)
	}
	return e, nil
}

// Read returns the environment GRUB boots with: copy 1, or copy 2 when
// copy 1 is invalid (GRUB would restore copy 1 from it first). It returns
// ErrPairInvalid when neither is complete.
func (p *Pair) Read() (*Env, error) {
	e, _, err := p.current()
	return e, err
}

// current returns the valid environment and which copies are invalid.
func (p *Pair) current() (*Env, [2]error, error) {
	e1, err1 := p.load(1)
	e2, err2 := p.load(2)
	bad := [2]error{err1, err2}
	switch {
	case err1 == nil:
		return e1, bad, nil
	case err2 == nil:
		return e2, bad, nil
	}
	return nil, bad, fmt.Errorf("%w in %s (%v; %v); restore them from a backup or re-create them with grub-mender-grubenv's make-env-and-lock-files",
		ErrPairInvalid, p.Dir, err1, err2)
}

// Update applies fn to a copy of the current environment and writes it to
// both copies, copy 2 first, as grub-mender-grubenv-set does. An invalid
// copy 1 is first restored from copy 2, so that at every point of the
// sequence one copy is complete: after a power cut GRUB and Read see either
// the old or the new environment. Nothing is written if fn fails or the
// result does not fit a file (ErrTooSmall).
func (p *Pair) Update(fn func(e *Env) error) error {
	cur, bad, err := p.current()
	if err != nil {
		return err
	}
	next := &Env{Vars: slices.Clone(cur.Vars), Comments: slices.Clone(cur.Comments)}
	if err := fn(next); err != nil {
		return err
	}
	if err := p.fits(next); err != nil {
		return err
	}
	if bad[0] != nil {
		if err := p.writeCopy(1, cur); err != nil {
			return fmt.Errorf("restore copy 1 of %s from copy 2: %w", p.Dir, err)
		}
	}
	for _, i := range []int{2, 1} {
		if err := p.writeCopy(i, next); err != nil {
			return fmt.Errorf("write copy %d of %s: %w", i, p.Dir, err)
		}
	}
	return nil
}

// fits checks before anything is written that e and both lock states fit
// the files as they are, so that a block too small cannot stop an Update
// half-way (with copy 2 new and copy 1 marked editing).
func (p *Pair) fits(e *Env) error {
	lock := &Env{Vars: []Var{{VarEditing, "1"}}}
	for i := 1; i <= 2; i++ {
		for path, blk := range map[string]*Env{p.EnvPath(i): e, p.LockPath(i): lock} {
			fi, err := os.Stat(path)
			if err != nil {
				return fmt.Errorf("grub-mender-grubenv copy %d: %w", i, err)
			}
			if _, err := blk.Encode(int(fi.Size())); err != nil {
				return fmt.Errorf("grub-mender-grubenv %s (%d bytes): %w", path, fi.Size(), err)
			}
		}
	}
	return nil
}

// writeCopy marks copy i as being edited, writes e into its env and marks
// it complete; each step is fsynced before the next.
func (p *Pair) writeCopy(i int, e *Env) error {
	if err := p.setLock(i, "1"); err != nil {
		return err
	}
	if err := p.put(p.EnvPath(i), e); err != nil {
		return err
	}
	if err := p.setLock(i, "0"); err != nil {
		return err
	}
	return p.fixLockSum(i)
}

// setLock writes editing=v into copy i's lock, keeping its other content
// when it parses (so its bytes, and lock.sha256sum, stay what
// make-env-and-lock-files made) and writing a fresh block when it does not.
func (p *Pair) setLock(i int, v string) error {
	l, err := ReadFile(p.LockPath(i))
	if err != nil {
		l = &Env{}
	}
	l.Set(VarEditing, v)
	return p.put(p.LockPath(i), l)
}

// fixLockSum keeps grub-mender-grubenv-print's lock.sha256sum (which it
// uses to tell a complete copy) matching a lock that says editing=0, as its
// restore does; without the file there is nothing to keep.
func (p *Pair) fixLockSum(i int) error {
	sumPath := p.LockPath(i) + ".sha256sum"
	old, err := os.ReadFile(sumPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	lock, err := os.ReadFile(p.LockPath(i))
	if err != nil {
		return fmt.Errorf("read lock for its checksum: %w", err)
	}
	sum := sha256.Sum256(lock)
	digest := hex.EncodeToString(sum[:])
	if f := strings.Fields(string(old)); len(f) > 0 && f[0] == digest {
		return nil
	}
	if err := atomicfile.WriteFile(sumPath, []byte(digest+"  lock\n"), 0o644); err != nil {
		return fmt.Errorf("rewrite %s: %w", sumPath, err)
	}
	return nil
}
