package ab

import (
	"fmt"
	"strconv"
	"strings"
)

// scheme is a boot-counting convention: which variables arm, commit and roll
// back a slot. Methods change vars in place; the caller stores them in one
// environment write.
type scheme interface {
	arm(vars map[string]string, slot string)
	commit(vars map[string]string, booted string) error
	// rollback returns the slot that boots next.
	rollback(vars map[string]string, booted string) (string, error)
	// fromEnv returns the slot the environment says is running.
	fromEnv(vars map[string]string) (string, error)
	// pending says what the environment holds that is not committed.
	pending(vars map[string]string, booted string) Pending
}

func newScheme(cfg Config, slots []string) (scheme, error) {
	switch cfg.Scheme {
	case "rauc":
		if cfg.Bootloader == "grub" {
			return raucGrub{slots: slots}, nil
		}
		return rauc{slots: slots, attempts: cfg.Attempts}, nil
	case "mender":
		return newMender(cfg, slots)
	}
	return nil, fmt.Errorf("ab: scheme %q, want rauc or mender", cfg.Scheme)
}

// Variable names of the schemes.
const (
	VarBootOrder        = "BOOT_ORDER"
	VarMenderPart       = "mender_boot_part"
	VarMenderPartHex    = "mender_boot_part_hex"
	VarUpgradeAvailable = "upgrade_available"
	VarBootcount        = "bootcount"
	VarBootlimit        = "bootlimit"
)

// LeftVar returns the rauc attempts variable of slot, e.g. BOOT_B_LEFT.
func LeftVar(slot string) string { return "BOOT_" + slot + "_LEFT" }

// rauc is RAUC's U-Boot convention (on GRUB see raucGrub) (contrib/uboot.sh, src/bootchooser.c).
type rauc struct {
	slots    []string
	attempts int
}

// order returns BOOT_ORDER's slots; missing means the script default, all
// slots in name order.
func (r rauc) order(vars map[string]string) []string {
	v, ok := vars[VarBootOrder]
	if !ok {
		return r.slots
	}
	return strings.Fields(v)
}

// Left parses a rauc attempts counter. U-Boot's setexpr writes hex without
// a prefix, RAUC writes decimal; for the one-digit counts used they agree.
// A missing counter means the script's default of 3; garbage means 0.
func Left(vars map[string]string, slot string) int {
	v, ok := vars[LeftVar(slot)]
	if !ok {
		return DefaultAttempts
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 16)
	if err != nil {
		return 0
	}
	return int(n)
}

func (r rauc) arm(vars map[string]string, slot string) {
	vars[VarBootOrder] = strings.Join(r.front(slot), " ")
	vars[LeftVar(slot)] = strconv.Itoa(r.attempts)
}

// front returns all slots with slot first.
func (r rauc) front(slot string) []string {
	o := []string{slot}
	for _, s := range r.slots {
		if s != slot {
			o = append(o, s)
		}
	}
	return o
}

func (r rauc) commit(vars map[string]string, booted string) error {
	if o := r.order(vars); len(o) > 0 && o[0] != booted && Left(vars, o[0]) > 0 {
		return fmt.Errorf("%w: slot %s is armed to boot next (%s=%q), slot %s is running; reboot first or roll back",
			ErrNotBooted, o[0], VarBootOrder, vars[VarBootOrder], booted)
	}
	vars[VarBootOrder] = strings.Join(r.front(booted), " ")
	vars[LeftVar(booted)] = strconv.Itoa(r.attempts)
	return nil
}

func (r rauc) rollback(vars map[string]string, booted string) (string, error) {
	o := r.order(vars)
	if len(o) == 0 || (o[0] == booted && Left(vars, booted) >= r.attempts) {
		return "", fmt.Errorf("%w: %s=%q, slot %s committed", ErrNothingPending, VarBootOrder, vars[VarBootOrder], booted)
	}
	armed := o[0]
	next := r.front(armed)[1]
	vars[VarBootOrder] = next
	vars[LeftVar(armed)] = "0"
	vars[LeftVar(next)] = strconv.Itoa(r.attempts)
	return next, nil
}

// fromEnv answers only when the environment is unambiguous: the first slot
// in BOOT_ORDER with attempts left, if a boot has already counted it down.
// A full counter is either freshly armed (not booted yet) or committed
// (booted), which the environment cannot tell apart: then it is an error
// rather than a guess that could make the booted slot look inactive.
func (r rauc) fromEnv(vars map[string]string) (string, error) {
	for _, s := range r.order(vars) {
		n := Left(vars, s)
		if n <= 0 || !contains(r.slots, s) {
			continue
		}
		if n >= r.attempts {
			break
		}
		return s, nil
	}
	return "", fmt.Errorf("%w: %s=%q does not say which slot runs; pass rauc.slot= or ota.slot= on the kernel command line",
		ErrUnknownBoot, VarBootOrder, vars[VarBootOrder])
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// next returns the slot the rauc boot script picks: the first in
// BOOT_ORDER with attempts left, "" if none.
func (r rauc) next(vars map[string]string) string {
	for _, s := range r.order(vars) {
		if contains(r.slots, s) && Left(vars, s) > 0 {
			return s
		}
	}
	return ""
}

func (r rauc) pending(vars map[string]string, booted string) Pending {
	switch n := r.next(vars); {
	case n == "":
		return PendingNone
	case n != booted:
		return PendingArmed
	case Left(vars, booted) < r.attempts:
		return PendingTrial
	}
	return PendingNone
}
