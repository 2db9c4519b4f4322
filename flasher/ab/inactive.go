package ab

import (
	"context"
	"fmt"
	"strings"

	"ota-agent/flasher"
	"ota-agent/platform/blockdev"
)

// OpenInactive opens the slot that is not booted for writing size bytes. It
// refuses when that slot is the booted device under another name, when it is
// mounted, or when it is smaller than size. It implements flasher.ABTarget.
func (t *Target) OpenInactive(ctx context.Context, size int64) (flasher.Slot, error) {
	booted, err := t.Booted(ctx)
	if err != nil {
		return nil, fmt.Errorf("open inactive slot: %w", err)
	}
	name := t.other(booted)
	path := t.cfg.Slots[name]
	if p := t.cfg.Slots[booted]; p == path || blockdev.SameFile(p, path) {
		return nil, fmt.Errorf("%w: slot %s (%s) is the same device as booted slot %s (%s); fix [component.ab] slots",
			ErrBootedSlot, name, path, booted, p)
	}
	ms, err := t.mounts()
	if err != nil {
		return nil, fmt.Errorf("open inactive slot %s: %w", name, err)
	}
	if pts := blockdev.MountedAt(ms, path); len(pts) > 0 {
		return nil, fmt.Errorf("%w: slot %s (%s) is mounted at %s; unmount it (or stop what automounts it) and retry",
			ErrMounted, name, path, strings.Join(pts, ", "))
	}
	s, err := OpenSlot(name, path, size, t.log)
	if err != nil {
		return nil, err
	}
	if t.cfg.SkipUnchanged && !s.SkipUnchanged() {
		t.log.Warn("ab.skip_unchanged is set but slot "+name+" cannot be read with O_DIRECT; every block is written", "device", path)
	}
	t.log.Info("slot opened", "slot", name, "device", path, "bytes", size, "from", booted)
	return s, nil
}
