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
		return grubStore{path: cfg.GrubEnv}, nil
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

// update applies fn's changes to the block keeping the order of existing
// variables (as grub-editenv does) and appending new ones sorted.
func (g grubStore) update(ctx context.Context, fn func(map[string]string) error) error {
	e, err := grubenv.ReadFile(g.path)
	if err != nil {
		return err
	}
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
	return grubenv.WriteFile(g.path, e)
}

func (g grubStore) String() string { return "grubenv " + g.path }
