package ubootenv_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"ota-agent/platform/ubootenv"
)

// TestPowerLossRedundant tears the store of a redundant pair (both copies in
// one file, as on an eMMC) at every byte, from the front (in-order writeback)
// and from the back (out-of-order), and checks that the environment then
// reads as the old or the new one, never as neither or a mix.
func TestPowerLossRedundant(t *testing.T) {
	const size = 0x200
	for _, scheme := range []ubootenv.FlagScheme{ubootenv.Incremental, ubootenv.Boolean} {
		t.Run(scheme.String(), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "disk.img")
			cfg := ubootenv.Config{Devices: []ubootenv.Device{{Path: path, Size: size}, {Path: path, Offset: size, Size: size}}}
			s, err := ubootenv.New(cfg, ubootenv.Options{Scheme: scheme, LockFile: filepath.Join(dir, "lock")})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			os.WriteFile(path, make([]byte, 2*size), 0o644)
			oldVars := map[string]string{"BOOT_ORDER": "A B", "BOOT_B_LEFT": "3"}
			newVars := map[string]string{"BOOT_ORDER": "B A", "BOOT_B_LEFT": "3", "extra": "x"}
			for _, v := range []map[string]string{{"first": "1"}, oldVars} { // two stores: both copies valid
				if err := s.Write(ctx, v); err != nil {
					t.Fatal(err)
				}
			}
			before, _ := os.ReadFile(path)
			if err := s.Write(ctx, newVars); err != nil {
				t.Fatal(err)
			}
			after, _ := os.ReadFile(path)
			for _, img := range tears(before, after, size) {
				os.WriteFile(path, img.data, 0o644)
				e, err := s.Read(ctx)
				if err != nil {
					t.Fatalf("%s: Read = %v, want the old or the new environment", img.name, err)
				}
				if !maps.Equal(e.Vars, oldVars) && !maps.Equal(e.Vars, newVars) {
					t.Fatalf("%s: Read = %v, want %v or %v", img.name, e.Vars, oldVars, newVars)
				}
			}
		})
	}
}

type torn struct {
	name string
	data []byte
}

// tears returns every image between before and after where a write was
// cut short. The writer stores the new copy, fsyncs, and only then (Boolean)
// clears the old copy's flag, so the changed bytes of each copy form one
// phase, the bigger (the new copy) first; within a phase a prefix or a suffix
// of its changed bytes reached the medium (in-order or out-of-order
// writeback), and earlier phases completed.
func tears(before, after []byte, size int) []torn {
	var phases [2][]int
	for i := range before {
		if before[i] != after[i] {
			phases[i/size] = append(phases[i/size], i)
		}
	}
	if len(phases[1]) > len(phases[0]) {
		phases[0], phases[1] = phases[1], phases[0]
	}
	var out []torn
	base := bytes.Clone(before)
	for p, changed := range phases {
		for k := 0; k <= len(changed); k++ {
			pre, suf := bytes.Clone(base), bytes.Clone(base)
			for _, i := range changed[:k] {
				pre[i] = after[i]
			}
			for _, i := range changed[len(changed)-k:] {
				suf[i] = after[i]
			}
			out = append(out, torn{fmt.Sprintf("phase %d: first %d of %d changed bytes", p, k, len(changed)), pre},
				torn{fmt.Sprintf("phase %d: last %d of %d changed bytes", p, k, len(changed)), suf})
		}
		for _, i := range changed {
			base[i] = after[i]
		}
	}
	return out
}

// TestPowerLossSingleFile checks that a single environment in a file is
// replaced by rename: a crash before the rename leaves the old file intact
// and only a stray temp file, which a later store does not mind.
func TestPowerLossSingleFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "uboot.env")
	os.WriteFile(path, make([]byte, 0x400), 0o600)
	cfg := ubootenv.Config{Devices: []ubootenv.Device{{Path: path, Size: 0x400}}}
	s, err := ubootenv.New(cfg, ubootenv.Options{LockFile: filepath.Join(dir, "lock")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Write(ctx, map[string]string{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 || fi.Size() != 0x400 {
		t.Errorf("after replace: mode %v size %d, want 0600 and 1024", fi.Mode().Perm(), fi.Size())
	}
	// A crash mid-way through the temp file: the real file is untouched.
	newBuf, _ := ubootenv.EncodeCopy(map[string]string{"v": "2"}, 0x400, false, 0, 0)
	os.WriteFile(filepath.Join(dir, ".uboot.env.tmp123"), newBuf[:300], 0o600)
	if e, err := s.Read(ctx); err != nil || e.Vars["v"] != "1" {
		t.Fatalf("after a torn temp file: Read = %v, %v; want v=1", e, err)
	}
	if err := s.Update(ctx, func(v map[string]string) error { v["v"] = "2"; return nil }); err != nil {
		t.Fatal(err)
	}
	if e, err := s.Read(ctx); err != nil || e.Vars["v"] != "2" {
		t.Fatalf("Read = %v, %v; want v=2", e, err)
	}
}

// TestNegativeOffsetOnFile is refused, as libubootenv refuses it.
func TestNegativeOffsetOnFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "env")
	os.WriteFile(path, make([]byte, 0x800), 0o644)
	cfg := ubootenv.Config{Devices: []ubootenv.Device{{Path: path, Offset: -0x400, Size: 0x400}}}
	s, _ := ubootenv.New(cfg, ubootenv.Options{LockFile: filepath.Join(dir, "lock")})
	if _, err := s.Read(context.Background()); err == nil {
		t.Error("Read with a negative offset on a regular file succeeded, want an error")
	}
}

// TestMissingFile names the fix.
func TestMissingFile(t *testing.T) {
	dir := t.TempDir()
	cfg := ubootenv.Config{Devices: []ubootenv.Device{{Path: filepath.Join(dir, "nope"), Size: 0x400}, {Path: filepath.Join(dir, "nope2"), Size: 0x400}}}
	s, _ := ubootenv.New(cfg, ubootenv.Options{LockFile: filepath.Join(dir, "lock")})
	if err := s.Write(context.Background(), map[string]string{"a": "b"}); err == nil {
		t.Error("Write to a missing file succeeded, want an error")
	}
}
