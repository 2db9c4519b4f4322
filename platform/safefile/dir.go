package safefile

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// MkdirOwned creates dir and its missing parents with perm, then checks it
// as CheckOwnedDir does. label names the directory in errors, for example
// "state_dir".
func MkdirOwned(label, dir string, perm os.FileMode) error {
	if err := os.MkdirAll(dir, perm); err != nil {
		return fmt.Errorf("create %s %s: %w; check the path and the permissions of its parent", label, dir, err)
	}
	return CheckOwnedDir(label, dir)
}

// CheckOwnedDir returns nil when dir, or the directory it links to, is a
// directory owned by the effective uid that neither its group nor others
// can write. Otherwise the one-line error names the directory (and the link
// target) and gives the command that fixes it. label names the directory,
// for example "state_dir".
func CheckOwnedDir(label, dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("check %s %s: %w", label, dir, err)
	}
	name, real := describeDir(label, dir)
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory; point it at a directory the agent owns", name)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("check %s: no owner information", name)
	}
	return checkOwner(name, real, int(st.Uid), st.Mode&0o7777)
}

// describeDir returns how errors name dir ("state_dir /x", or with "(a
// symlink to /y)") and the path a fix command should act on.
func describeDir(label, dir string) (name, real string) {
	name = label + " " + dir
	if fi, err := os.Lstat(dir); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		return name, dir
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return name, dir
	}
	return fmt.Sprintf("%s (a symlink to %s)", name, real), real
}

// checkOwner refuses a directory not owned by the effective uid, or one
// that group or others can write.
func checkOwner(name, real string, uid int, perm uint32) error {
	euid := os.Geteuid()
	q := quote(real)
	if uid != euid {
		return fmt.Errorf("%s is owned by uid %d, not %d (the agent's user); fix: chown %d %s && chmod go-w %s%s", name, uid, euid, euid, q, q, rootHint(uid, euid))
	}
	if who := writers(perm); who != "" {
		return fmt.Errorf("%s is writable by %s (mode %04o); fix: chmod go-w %s", name, who, perm, q)
	}
	return nil
}

// writers says who besides the owner may write a directory with perm.
func writers(perm uint32) string {
	switch perm & 0o022 {
	case 0o020:
		return "group"
	case 0o002:
		return "others"
	case 0o022:
		return "group and others"
	}
	return ""
}

// rootHint covers the likely mistake behind a root-owned directory seen by
// another user: a command run without sudo.
func rootHint(owner, euid int) string {
	if owner == 0 && euid != 0 {
		return ", or run this command as root if the agent runs as root"
	}
	return ""
}
