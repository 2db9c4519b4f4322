package ab

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"ota-agent/platform/grubenv"
	"ota-agent/platform/ubootenv"
)

// envStore is a bootloader environment that is read whole and changed in
// one store.
type envStore interface {
	read(ctx context.Context) (map[string]string, error)
	update(ctx context.Context, fn func(vars map[string]string) error) error
	String() string
}

func openEnv(cfg Config, log *slog.Logger) (envStore, error) {
	switch cfg.Bootloader {
	case "uboot":
		path := cfg.EnvConfig
		if path == "" {
			path = ubootenv.DefaultConfigFile
		}
		ec, err := ubootenv.LoadConfig(path)
		if err != nil {
			return nil, fmt.Errorf("ab: %w", err)
		}
		s, err := ubootenv.New(ec, ubootenv.Options{LockFile: cfg.LockFile, Log: log})
		if err != nil {
			return nil, fmt.Errorf("ab: u-boot env config %s: %w", path, err)
		}
		return ubootStore{s}, nil
	case "grub":
		return openGrub(cfg)
	}
	return nil, fmt.Errorf("ab: bootloader %q, want uboot or grub", cfg.Bootloader)
}

type ubootStore struct{ s *ubootenv.Store }

func (u ubootStore) read(ctx context.Context) (map[string]string, error) {
	e, err := u.s.Read(ctx)
	if err != nil {
		return nil, err
	}
	return e.Vars, nil
}

func (u ubootStore) update(ctx context.Context, fn func(map[string]string) error) error {
	return u.s.Update(ctx, fn)
}

func (u ubootStore) String() string { return u.s.String() }

// grubStore is a grubenv file. GRUB and grub-editenv take no lock, so
// neither does this.
type grubStore struct{ path string }

func (g grubStore) read(ctx context.Context) (map[string]string, error) {
	e, err := grubenv.ReadFile(g.path)
	if err != nil {
		return nil, err
	}
	return e.Map(), nil
}

func (g grubStore) update(ctx context.Context, fn func(map[string]string) error) error {
	e, err := grubenv.ReadFile(g.path)
	if err != nil {
		return err
	}
	if err := applyVars(e, fn); err != nil {
		return err
	}
	return grubenv.WriteFile(g.path, e)
}

// applyVars applies fn's changes to the block keeping the order of
// existing variables (as grub-editenv does) and appending new ones sorted.
func applyVars(e *grubenv.Env, fn func(map[string]string) error) error {
	vars := e.Map()
	if err := fn(vars); err != nil {
		return err
	}
	for _, v := range slices.Clone(e.Vars) {
		if _, ok := vars[v.Name]; !ok {
			e.Unset(v.Name)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(vars)) {
		e.Set(n, vars[n])
	}
	return nil
}

func (g grubStore) String() string { return "grubenv " + g.path }

// Values of Config.GrubenvLayout.
const (
	LayoutSingle = "single" // one grubenv file (grub-editenv's)
	LayoutMender = "mender" // grub-mender-grubenv's two copies with locks
)

func openGrub(cfg Config) (envStore, error) {
	switch cfg.GrubenvLayout {
	case "", LayoutSingle:
		return grubStore{path: cfg.GrubEnv}, nil
	case LayoutMender:
		if cfg.Scheme != "mender" {
			return nil, fmt.Errorf("ab: grubenv_layout %q is grub-mender-grubenv's and needs scheme mender, not %q", cfg.GrubenvLayout, cfg.Scheme)
		}
		lock := cfg.LockFile
		if lock == "" {
			lock = grubenv.DefaultPairLock
		}
		return pairStore{pair: grubenv.NewPair(cfg.GrubEnv), lock: lock}, nil
	}
	return nil, fmt.Errorf("ab: grubenv_layout %q, want %s or %s", cfg.GrubenvLayout, LayoutSingle, LayoutMender)
}

// pairStore is grub-mender-grubenv's redundant environment. It holds the
// flock grub-mender-grubenv-set takes, so Mender's fw_setenv on GRUB and
// the agent never write at the same time.
type pairStore struct {
	pair *grubenv.Pair
	lock string
}

func (p pairStore) read(ctx context.Context) (map[string]string, error) {
	l, err := ubootenv.AcquireLock(ctx, p.lock)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	e, err := p.pair.Read()
	if err != nil {
		return nil, err
	}
	return e.Map(), nil
}

func (p pairStore) update(ctx context.Context, fn func(map[string]string) error) error {
	l, err := ubootenv.AcquireLock(ctx, p.lock)
	if err != nil {
		return err
	}
	defer l.Unlock()
	return p.pair.Update(func(e *grubenv.Env) error { return applyVars(e, fn) })
}

func (p pairStore) String() string { return p.pair.String() }
