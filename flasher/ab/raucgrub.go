package ab

import (
	"fmt"
	"strconv"
	"strings"
)

// Variable names of RAUC's GRUB convention (contrib/grub.conf,
// src/bootloaders/grub.c).
const (
	VarOrder = "ORDER"
)

// OKVar returns the RAUC GRUB "slot is good" variable of slot, e.g. B_OK.
func OKVar(slot string) string { return slot + "_OK" }

// TryVar returns the RAUC GRUB "slot is being tried" variable of slot,
// e.g. B_TRY.
func TryVar(slot string) string { return slot + "_TRY" }

// raucGrub is RAUC's GRUB convention. Its boot script walks ORDER, sets
// <slot>_TRY=1 on every slot it looks at and boots the first that had
// <slot>_OK=1 and <slot>_TRY=0; when none qualifies it clears the TRY of
// the good slots and boots the rescue entry. So a slot gets one try: unless
// it is marked good again (TRY=0) before the next boot, the next slot in
// ORDER boots. The backend writes exactly what RAUC's does: mark-active is
// <slot>_OK=1 <slot>_TRY=0 ORDER=<slot first>, mark-good <slot>_OK=1
// <slot>_TRY=0, mark-bad <slot>_OK=0 <slot>_TRY=0. There is no attempts
// counter: Config.Attempts does not apply.
type raucGrub struct {
	slots []string
}

// order returns ORDER's slots; missing means all slots in name order, as
// the script's `set ORDER="A B"` default.
func (r raucGrub) order(vars map[string]string) []string {
	v, ok := vars[VarOrder]
	if !ok {
		return r.slots
	}
	return strings.Fields(v)
}

// flag reads a 0/1 variable as RAUC does (g_ascii_strtoull base 0 == 1);
// missing or garbage is the script's default 0.
func flag(vars map[string]string, name string) bool {
	n, err := strconv.ParseUint(strings.TrimSpace(vars[name]), 0, 64)
	return err == nil && n == 1
}

// good says the script would boot slot if it reached it in ORDER.
func (r raucGrub) good(vars map[string]string, slot string) bool {
	return flag(vars, OKVar(slot)) && !flag(vars, TryVar(slot))
}

// front returns ORDER with slot first, as r_bootchooser_order_primary.
func (r raucGrub) front(slot string) string {
	return strings.Join(rauc{slots: r.slots}.front(slot), " ")
}

// mark sets slot's OK flag and clears its TRY flag.
func mark(vars map[string]string, slot string, ok bool) {
	vars[OKVar(slot)] = "0"
	if ok {
		vars[OKVar(slot)] = "1"
	}
	vars[TryVar(slot)] = "0"
}

// armed returns the slot ahead of booted in ORDER that the script would
// boot next, "" if none.
func (r raucGrub) armed(vars map[string]string, booted string) string {
	o := r.order(vars)
	if len(o) > 0 && o[0] != booted && contains(r.slots, o[0]) && r.good(vars, o[0]) {
		return o[0]
	}
	return ""
}

func (r raucGrub) arm(vars map[string]string, slot string) {
	mark(vars, slot, true)
	vars[VarOrder] = r.front(slot)
}

// commit is RAUC's mark-good of the booted slot plus mark-active, so it
// also boots first (as commit does on U-Boot).
func (r raucGrub) commit(vars map[string]string, booted string) error {
	if a := r.armed(vars, booted); a != "" {
		return fmt.Errorf("%w: slot %s is armed to boot next (%s=%q, %s=1, %s=0), slot %s is running; reboot first or roll back",
			ErrNotBooted, a, VarOrder, vars[VarOrder], OKVar(a), TryVar(a), booted)
	}
	r.arm(vars, booted)
	return nil
}

// rollback marks bad the slot that was armed or is on trial (the first in
// ORDER when it is not the booted one, else the booted one while its try
// is not marked good) and makes the other one good and first.
func (r raucGrub) rollback(vars map[string]string, booted string) (string, error) {
	o := r.order(vars)
	var abandon string
	switch {
	case !flag(vars, OKVar(booted)) || len(o) == 0:
	case o[0] != booted && contains(r.slots, o[0]) && flag(vars, OKVar(o[0])):
		abandon = o[0]
	case o[0] == booted && flag(vars, TryVar(booted)):
		abandon = booted
	}
	if abandon == "" {
		return "", fmt.Errorf("%w: %s=%q %s=%q %s=%q, slot %s committed", ErrNothingPending, VarOrder, vars[VarOrder],
			OKVar(booted), vars[OKVar(booted)], TryVar(booted), vars[TryVar(booted)], booted)
	}
	next := r.slots[0]
	if next == abandon {
		next = r.slots[1]
	}
	mark(vars, abandon, false)
	r.arm(vars, next)
	return next, nil
}

// fromEnv answers only when one slot alone has OK=1 and TRY=1: the script
// set TRY on the slot it booted and nobody marked it good yet. After a
// fallback two slots carry TRY=1, and after a commit none does (a freshly
// armed slot looks the same): then it is an error, not a guess.
func (r raucGrub) fromEnv(vars map[string]string) (string, error) {
	var tried []string
	for _, s := range r.slots {
		if flag(vars, OKVar(s)) && flag(vars, TryVar(s)) {
			tried = append(tried, s)
		}
	}
	if len(tried) == 1 {
		return tried[0], nil
	}
	return "", fmt.Errorf("%w: %s=%q and the _OK/_TRY flags do not say which slot runs; pass rauc.slot= or ota.slot= on the kernel command line",
		ErrUnknownBoot, VarOrder, vars[VarOrder])
}

// pending: another slot first in ORDER and good is armed; the booted slot
// with TRY=1 (booted, not marked good since) is on trial.
func (r raucGrub) pending(vars map[string]string, booted string) Pending {
	switch {
	case r.armed(vars, booted) != "":
		return PendingArmed
	case flag(vars, OKVar(booted)) && flag(vars, TryVar(booted)):
		return PendingTrial
	}
	return PendingNone
}
