package state

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"ota-agent/platform/atomicfile"
	"ota-agent/platform/safefile"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// File names inside the state directory.
const (
	FileName   = "state.json"
	LockName   = "lock"
	SocketName = "agent.sock"
	// DownloadName is the staging directory the download package fills.
	DownloadName = "download"
)

// ErrLocked is returned (wrapped in a *LockedError) when another process
// holds the state lock.
var ErrLocked = errors.New("state directory locked by another ota-agent")

// LockedError says who holds the lock.
type LockedError struct {
	Path string
	PID  int // 0 when the holder did not write its pid
}

func (e *LockedError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("another ota-agent (pid %d) holds %s; stop it (systemctl stop ota-agent) or wait for it to finish", e.PID, e.Path)
	}
	return fmt.Sprintf("another ota-agent holds %s; stop it (systemctl stop ota-agent) or wait for it to finish", e.Path)
}

// Unwrap returns ErrLocked.
func (e *LockedError) Unwrap() error { return ErrLocked }

// Store reads and writes the state of one state directory. It is not safe
// for concurrent use; the agent serialises access through one goroutine.
type Store struct {
	dir  string
	log  *slog.Logger
	lock *os.File
	now  func() time.Time
}

// Open returns the store for dir, creating the directory (mode 0750) if
// needed. It refuses a dir (or the directory a symlink dir points at), and
// an existing <dir>/download, that is not owned by the agent's user or that
// group or others can write: whoever can write there can plant links the
// agent would follow as root. log may be nil.
func Open(dir string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if dir == "" {
		return nil, errors.New("state directory is empty; set device.state_dir")
	}
	if err := checkDirs(dir); err != nil {
		return nil, err
	}
	return &Store{dir: dir, log: log.With("component", "agent/state"), now: time.Now}, nil
}

// checkDirs creates dir if needed and checks it and <dir>/download (when
// present) with safefile.CheckOwnedDir.
func checkDirs(dir string) error {
	if err := safefile.MkdirOwned("state_dir", dir, 0o750); err != nil {
		return err
	}
	dl := filepath.Join(dir, DownloadName)
	if _, err := os.Stat(dl); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return safefile.CheckOwnedDir("download directory", dl)
}

// Dir returns the state directory.
func (s *Store) Dir() string { return s.dir }

// Path returns the path of state.json.
func (s *Store) Path() string { return filepath.Join(s.dir, FileName) }

// Lock takes the installer lock (flock on <dir>/lock) without waiting and
// writes this process's pid into it. It returns a *LockedError naming the
// holder when another process has it. The lock lasts until Unlock or exit.
// A symlink or hard link planted at <dir>/lock is refused, not written.
func (s *Store) Lock() error {
	if s.lock != nil {
		return nil
	}
	path := filepath.Join(s.dir, LockName)
	f, err := safefile.OpenNoFollow(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("open lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		pid := readPID(f)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return &LockedError{Path: path, PID: pid}
		}
		return fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	s.lock = f
	return nil
}

func readPID(f *os.File) int {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	if err != nil {
		return 0
	}
	return pid
}

// Unlock releases the lock taken by Lock.
func (s *Store) Unlock() error {
	if s.lock == nil {
		return nil
	}
	f := s.lock
	s.lock = nil
	_ = f.Truncate(0)
	return f.Close() // closing the last fd releases the flock
}

// Load reads state.json. A missing file gives a fresh state. A file that
// does not parse is renamed to state.json.corrupt-<UTC timestamp>, logged at
// Error, and a fresh state is returned whose Warning says so; the damaged
// file is never overwritten. Only the lock holder should call Load before
// Save; readers without the lock use Read.
func (s *Store) Load() (*State, error) {
	s.removeTemps()
	st, err := s.Read()
	if err == nil {
		return st, nil
	}
	var ce *CorruptError
	if !errors.As(err, &ce) {
		return nil, err
	}
	aside := s.Path() + ".corrupt-" + s.now().UTC().Format("20060102T150405Z")
	if rerr := os.Rename(s.Path(), aside); rerr != nil {
		return nil, fmt.Errorf("%w; moving it aside to %s also failed: %w", err, aside, rerr)
	}
	_ = atomicfile.SyncDir(s.dir)
	s.log.Error("state file corrupt; moved aside, starting from configured versions", "err", ce.Err, "path", aside)
	fresh := &State{Warning: fmt.Sprintf("state.json was corrupt (%v) and was moved to %s at %s; versions fall back to the configuration", ce.Err, aside, s.now().UTC().Format(time.RFC3339))}
	// Saved at once so the warning survives even if this process changes
	// nothing else.
	if err := s.Save(fresh); err != nil {
		return nil, err
	}
	return fresh, nil
}

// removeTemps deletes temp files left by a Save that was killed before its
// rename; only the lock holder writes them, so none is in use.
func (s *Store) removeTemps() {
	old, _ := filepath.Glob(filepath.Join(s.dir, "."+FileName+".tmp*"))
	for _, p := range old {
		_ = os.Remove(p)
	}
}

// CorruptError is returned by Read for a state.json that does not parse.
type CorruptError struct {
	Path string
	Err  error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("state file %s is corrupt: %v", e.Path, e.Err)
}

// Unwrap returns the decode error.
func (e *CorruptError) Unwrap() error { return e.Err }

// Read reads state.json without moving anything: a missing file gives a
// fresh state, a damaged one a *CorruptError. A symlink (or anything but a
// regular file) at state.json is an error, not a corrupt file: moving it
// aside would start from a fresh state and forget a pending A/B trial, so
// the operator is asked to remove it.
func (s *Store) Read() (*State, error) {
	b, err := safefile.ReadFileNoFollow(s.Path())
	if errors.Is(err, fs.ErrNotExist) {
		return &State{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	st, err := Decode(b)
	if err != nil {
		return nil, &CorruptError{Path: s.Path(), Err: err}
	}
	return st, nil
}

// Save replaces state.json atomically: it writes a temp file in the same
// directory, fsyncs it, renames it over state.json and fsyncs the directory
// (SD cards lose a rename on power loss without that last step).
func (s *Store) Save(st *State) error {
	b, err := Encode(st)
	if err != nil {
		return err
	}
	return WriteFileAtomic(s.Path(), b, 0o640)
}

// WriteFileAtomic replaces path with data as Save does.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	return atomicfile.WriteFile(path, data, mode)
}
