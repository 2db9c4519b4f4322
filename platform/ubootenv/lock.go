package ubootenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"ota-agent/platform/safefile"
)

// DefaultLockFile is the lock libubootenv's fw_printenv and fw_setenv take
// (O_WRONLY|O_CREAT|O_TRUNC, mode 0666, flock LOCK_EX) around every access.
// It lives in the world-writable /var/lock, so AcquireLock opens it without
// O_TRUNC and without following a symlink: the flock is the same one.
const DefaultLockFile = "/var/lock/fw_printenv.lock"

// lockPoll is how often a blocked lock is retried; flock cannot wait on a
// context, so the wait is a poll that a cancelled ctx ends.
const lockPoll = 10 * time.Millisecond

// Lock holds the libubootenv environment lock. Unlock releases it.
type Lock struct{ f *os.File }

// AcquireLock takes an exclusive flock on path the way libubootenv does,
// waiting until it is free or ctx ends. A symlink, a hard link or anything
// but a regular file at path is refused, and the file is never truncated.
func AcquireLock(ctx context.Context, path string) (*Lock, error) {
	f, err := safefile.OpenNoFollow(path, os.O_WRONLY|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("env lock: %w", err)
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return &Lock{f: f}, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("flock env lock %s: %w", path, err)
		}
		t.Reset(lockPoll)
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for env lock %s (held by fw_setenv or another updater?): %w", path, context.Cause(ctx))
		case <-t.C:
		}
	}
}

// Unlock releases the lock. It is safe to call on a nil *Lock.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the last fd drops the flock
	l.f = nil
	return err
}
