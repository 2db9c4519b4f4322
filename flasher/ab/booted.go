package ab

import (
	"context"
	"fmt"
	"os"
	"strings"

	"ota-agent/platform/blockdev"
)

// Booted returns the slot the running system booted from: ota.slot= or
// rauc.slot= on the kernel command line; else root= or the device mounted
// at / matched against the slot devices; else the environment's view.
// Booted implements flasher.ABTarget.
func (t *Target) Booted(ctx context.Context) (string, error) {
	cmdline, err := os.ReadFile(t.cfg.CmdlineFile)
	if err != nil && !os.IsNotExist(err) {
		return "", fmt.Errorf("read kernel command line: %w", err)
	}
	if s, ok, err := t.fromCmdline(string(cmdline)); ok || err != nil {
		return s, err
	}
	if s, ok := t.fromRootDevice(string(cmdline)); ok {
		return s, nil
	}
	vars, err := t.env.read(ctx)
	if err != nil {
		return "", fmt.Errorf("%w: no ota.slot=/rauc.slot= in %s, root device matches no slot, and the environment: %w",
			ErrUnknownBoot, t.cfg.CmdlineFile, err)
	}
	return t.scheme.fromEnv(vars)
}

// fromCmdline looks for ota.slot= (ours) or rauc.slot= (RAUC's boot
// script). A name that is not a slot is an error: the boot script and the
// agent's configuration disagree.
func (t *Target) fromCmdline(cmdline string) (string, bool, error) {
	for _, f := range strings.Fields(cmdline) {
		k, v, ok := strings.Cut(f, "=")
		if !ok || (k != "ota.slot" && k != "rauc.slot") {
			continue
		}
		if _, ok := t.cfg.Slots[v]; !ok {
			return "", false, fmt.Errorf("%w: %s names slot %q, configured slots are %v", ErrUnknownBoot, f, v, t.slots)
		}
		return v, true, nil
	}
	return "", false, nil
}

// fromRootDevice matches root=/dev/... or the device mounted at / against
// the slot devices.
func (t *Target) fromRootDevice(cmdline string) (string, bool) {
	var cands []string
	for _, f := range strings.Fields(cmdline) {
		if v, ok := strings.CutPrefix(f, "root="); ok && strings.HasPrefix(v, "/") {
			cands = append(cands, v)
		}
	}
	if ms, err := t.mounts(); err == nil {
		if d := blockdev.RootDevice(ms); strings.HasPrefix(d, "/") {
			cands = append(cands, d)
		}
	}
	for _, dev := range cands {
		for _, s := range t.slots {
			p := t.cfg.Slots[s]
			if p == dev || blockdev.SameFile(p, dev) {
				return s, true
			}
		}
	}
	return "", false
}

func (t *Target) mounts() ([]blockdev.Mount, error) {
	path := t.cfg.MountsFile
	if path == "" {
		path = blockdev.DefaultMounts
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open mount table: %w", err)
	}
	defer f.Close()
	return blockdev.ParseMounts(f)
}
