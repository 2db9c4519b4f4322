package ubootenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"strings"

	"ota-agent/platform/blockdev"
)

// ErrUnsupportedDevice means a write to raw MTD or UBI was asked for; those
// need erase/volume-update handling the agent does not do.
var ErrUnsupportedDevice = errors.New("writing an environment on MTD/UBI is not supported")

// Options tunes a Store. The zero value is what a board needs.
type Options struct {
	// LockFile is the flock path; "" means DefaultLockFile.
	LockFile string
	// NoLock skips the lock (as the sixth fw_env.config column does).
	NoLock bool
	// Scheme picks the active copy of a redundant pair; the zero value,
	// Incremental, is right for everything but parallel NOR flash.
	Scheme FlagScheme
	// Pad fills the data area after the terminator; 0x00 like U-Boot.
	Pad byte
	// Log gets one line per write; nil discards.
	Log *slog.Logger
}

// Store is a U-Boot environment located by a Config. It is safe for
// concurrent use: every Read and Update holds the environment lock.
type Store struct {
	cfg Config
	opt Options
	log *slog.Logger
}

// Env is the environment as read: its variables, which copy was active and
// that copy's flag (both 0 for a single environment).
type Env struct {
	Vars   map[string]string
	Active int
	Flag   byte
}

// New returns a Store for cfg; it does not touch the devices.
func New(cfg Config, opt Options) (*Store, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if opt.LockFile == "" {
		opt.LockFile = DefaultLockFile
	}
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, d := range cfg.Devices {
		opt.NoLock = opt.NoLock || d.DisableLock
	}
	return &Store{cfg: cfg, opt: opt, log: log.With("component", "ubootenv")}, nil
}

// String names the store's devices for errors, e.g. "/dev/mmcblk0@0x400000+0x400000".
func (s *Store) String() string {
	var parts []string
	for _, d := range s.cfg.Devices {
		parts = append(parts, fmt.Sprintf("%s@%#x", d.Path, d.Offset))
	}
	return "u-boot env " + strings.Join(parts, "+")
}

// Read returns the active environment. With no valid copy it returns an
// error wrapping ErrNoValidEnv that says what each copy held.
func (s *Store) Read(ctx context.Context) (*Env, error) {
	l, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	st, err := s.read()
	if err != nil {
		return nil, err
	}
	if st.err != nil {
		return nil, st.err
	}
	return st.env(), nil
}

// Update reads the environment, lets fn change the variables and writes the
// result as one store: a redundant pair gets its inactive copy rewritten
// with the next flag. It refuses to start from an invalid environment
// (ErrNoValidEnv); use Write to initialise one.
func (s *Store) Update(ctx context.Context, fn func(vars map[string]string) error) error {
	l, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer l.Unlock()
	st, err := s.read()
	if err != nil {
		return err
	}
	if st.err != nil {
		return fmt.Errorf("%w; initialise it (mkenvimage, or fw_setenv -f) before the agent updates it", st.err)
	}
	vars := maps.Clone(st.copies[st.active].Vars)
	if err := fn(vars); err != nil {
		return err
	}
	return s.write(st, vars)
}

// Write replaces the whole environment with vars, whether or not the current
// one is valid.
func (s *Store) Write(ctx context.Context, vars map[string]string) error {
	l, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer l.Unlock()
	st, err := s.read()
	if err != nil {
		return err
	}
	return s.write(st, vars)
}

func (s *Store) lock(ctx context.Context) (*Lock, error) {
	if s.opt.NoLock {
		return nil, nil
	}
	return AcquireLock(ctx, s.opt.LockFile)
}

// state is what read found on the devices.
type state struct {
	copies [2]Copy
	valid  [2]bool
	active int
	err    error // wraps ErrNoValidEnv when no copy is valid
}

func (st *state) env() *Env {
	c := st.copies[st.active]
	return &Env{Vars: c.Vars, Active: st.active, Flag: c.Flag}
}

// read loads every copy. Device errors (missing file, bad offset) are
// returned; bad contents end up in st.err.
func (s *Store) read() (*state, error) {
	st := &state{}
	red := s.cfg.Redundant()
	var why [2]error
	for i, d := range s.cfg.Devices {
		buf, err := readCopy(d)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s, err)
		}
		st.copies[i], why[i] = DecodeCopy(buf, red)
		st.valid[i] = why[i] == nil
	}
	if !red {
		if why[0] != nil {
			st.err = fmt.Errorf("%s: %w: %w", s, ErrNoValidEnv, why[0])
		}
		return st, nil
	}
	active, err := Select(s.opt.Scheme, st.valid[0], st.valid[1], st.copies[0].Flag, st.copies[1].Flag)
	if err != nil {
		st.err = fmt.Errorf("%s: %w: copy 0: %w; copy 1: %w", s, err, why[0], why[1])
	}
	st.active = active
	return st, nil
}

// readCopy reads one copy; a short device reads as zeros, which fails the
// CRC (libubootenv also treats a short file as invalid).
func readCopy(d Device) ([]byte, error) {
	f, err := os.Open(d.Path)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	defer f.Close()
	off, err := resolveOffset(f, d)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, d.Size)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s at %#x: %w", d.Path, off, err)
	}
	return buf, nil
}

// resolveOffset turns a negative offset into one from the end of a block
// device; on anything else a negative offset is an error, as in libubootenv.
func resolveOffset(f *os.File, d Device) (int64, error) {
	if d.Offset >= 0 {
		return d.Offset, nil
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat %s: %w", d.Path, err)
	}
	if !blockdev.IsBlock(fi) {
		return 0, fmt.Errorf("negative offset %d on %s, which is not a block device; give a positive offset", d.Offset, d.Path)
	}
	size, err := blockdev.Size(f)
	if err != nil {
		return 0, err
	}
	if size+d.Offset < 0 {
		return 0, fmt.Errorf("offset %d is before the start of %s (%d bytes)", d.Offset, d.Path, size)
	}
	return size + d.Offset, nil
}
