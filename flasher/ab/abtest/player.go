package abtest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"ota-agent/flasher/ab"
	"ota-agent/platform/grubenv"
)

// Boot plays one power-on: the bootloader reads the environment, counts the
// boot by the scheme's rules, stores the environment if the rules say so,
// and boots a slot, whose name it returns; the kernel command line is then
// what that boot would pass.
//
//   - rauc (contrib/uboot.sh): the first slot in BOOT_ORDER with attempts
//     left is decremented and booted; with none left all counters are reset
//     and the board resets, which boots the first slot again.
//   - rauc on GRUB (contrib/grub.conf): ORDER is walked, every slot looked
//     at gets <slot>_TRY=1, the first that had _OK=1 and _TRY=0 boots; with
//     none, the TRY of good slots is cleared and the rescue entry boots
//     (an error here).
//   - mender on U-Boot (bootcount_env.c, altbootcmd): with
//     upgrade_available=1, bootcount++; beyond bootlimit the other partition
//     is chosen and upgrade_available cleared.
//   - mender on GRUB (grub-mender-grubenv): with upgrade_available=1 a
//     second boot (bootcount already 1) swaps partitions; the first sets
//     bootcount=1.
func (r *Rig) Boot(ctx context.Context) (string, error) {
	var slot string
	err := r.update(ctx, func(v map[string]string) error {
		var err error
		switch {
		case r.rc.Scheme == "mender":
			slot, err = r.bootMender(v)
		case r.rc.Bootloader == "grub":
			slot, err = bootRaucGrub(v)
		default:
			slot, err = r.bootRauc(v)
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("abtest: boot: %w", err)
	}
	return slot, r.setCmdline(slot)
}

func (r *Rig) bootRauc(v map[string]string) (string, error) {
	order := strings.Fields(v[ab.VarBootOrder])
	if _, ok := v[ab.VarBootOrder]; !ok {
		order = []string{"A", "B"}
	}
	for range 2 { // the second pass is the board after "reset"
		for _, s := range order {
			if n := ab.Left(v, s); n > 0 && (s == "A" || s == "B") {
				v[ab.LeftVar(s)] = strconv.FormatInt(int64(n-1), 16) // setexpr writes hex
				return s, nil
			}
		}
		for _, s := range []string{"A", "B"} {
			v[ab.LeftVar(s)] = "3"
		}
	}
	return "", fmt.Errorf("rauc: no bootable slot in BOOT_ORDER=%q", v[ab.VarBootOrder])
}

func bootRaucGrub(v map[string]string) (string, error) {
	defaults := map[string]string{ab.VarOrder: "A B", "A_OK": "0", "B_OK": "0", "A_TRY": "0", "B_TRY": "0"}
	for k, d := range defaults { // `set X=...` before load_env, saved by save_env
		if _, ok := v[k]; !ok {
			v[k] = d
		}
	}
	for _, s := range strings.Fields(v[ab.VarOrder]) {
		if s != "A" && s != "B" {
			continue
		}
		ok, try := v[ab.OKVar(s)], v[ab.TryVar(s)]
		v[ab.TryVar(s)] = "1"
		if ok == "1" && try == "0" {
			return s, nil
		}
	}
	for _, s := range []string{"A", "B"} {
		if v[ab.OKVar(s)] == "1" && v[ab.TryVar(s)] == "1" {
			v[ab.TryVar(s)] = "0"
		}
	}
	return "", fmt.Errorf("rauc grub.conf: no slot in ORDER=%q has _OK=1 and _TRY=0; booting the rescue entry", v[ab.VarOrder])
}

func (r *Rig) bootMender(v map[string]string) (string, error) {
	if v[ab.VarUpgradeAvailable] == "1" {
		if r.rc.Bootloader == "grub" {
			if v[ab.VarBootcount] != "0" {
				menderSwap(v)
			} else {
				v[ab.VarBootcount] = "1"
			}
		} else {
			count, _ := strconv.Atoi(v[ab.VarBootcount])
			limit, err := strconv.Atoi(v[ab.VarBootlimit])
			if err != nil {
				limit = 1
			}
			v[ab.VarBootcount] = strconv.Itoa(count + 1)
			if limit != 0 && count+1 > limit {
				menderSwap(v) // altbootcmd = mender_altbootcmd
			}
		}
	}
	switch v[ab.VarMenderPart] {
	case "2":
		return "A", nil
	case "3":
		return "B", nil
	}
	return "", fmt.Errorf("mender: mender_boot_part=%q names no partition", v[ab.VarMenderPart])
}

func menderSwap(v map[string]string) {
	next := "2"
	if v[ab.VarMenderPart] == "2" {
		next = "3"
	}
	v[ab.VarMenderPart], v[ab.VarMenderPartHex] = next, next
	v[ab.VarUpgradeAvailable] = "0"
}

// update is one bootloader store (saveenv / save_env). On
// grub-mender-grubenv's layout it is mender_check_and_restore_env,
// mender_load_env and mender_save_env (copy 2, then copy 1, each inside
// editing=1 ... editing=0), which is what Pair.Update does.
func (r *Rig) update(ctx context.Context, fn func(map[string]string) error) error {
	if r.rc.GrubenvLayout == ab.LayoutMender {
		return grubenv.NewPair(r.Config.GrubEnv).Update(func(e *grubenv.Env) error {
			return setAll(e, fn)
		})
	}
	if r.rc.Bootloader != "grub" {
		s, err := r.ubootStore()
		if err != nil {
			return err
		}
		return s.Update(ctx, fn)
	}
	e, err := grubenv.ReadFile(r.Config.GrubEnv)
	if err != nil {
		return err
	}
	if err := setAll(e, fn); err != nil {
		return err
	}
	return grubenv.WriteFile(r.Config.GrubEnv, e)
}

// setAll applies fn to e's variables (save_env sets, never unsets).
func setAll(e *grubenv.Env, fn func(map[string]string) error) error {
	v := e.Map()
	if err := fn(v); err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(v)) {
		e.Set(k, v[k])
	}
	return nil
}
