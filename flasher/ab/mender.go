package ab

import (
	"fmt"
	"strconv"
)

// mender is Mender's convention (meta-mender env_mender.h, client
// installer/bootenv.go): slots are named by partition number.
type mender struct {
	slots []string
	part  map[string]int // slot → partition number
}

func newMender(cfg Config, slots []string) (mender, error) {
	m := mender{slots: slots, part: map[string]int{}}
	for _, s := range slots {
		n, err := partitionOf(cfg, s)
		if err != nil {
			return mender{}, err
		}
		m.part[s] = n
	}
	if m.part[slots[0]] == m.part[slots[1]] {
		return mender{}, fmt.Errorf("ab: mender scheme: slots %s and %s both have partition number %d; set [component.ab] partitions (e.g. {A = 2, B = 3})",
			slots[0], slots[1], m.part[slots[0]])
	}
	return m, nil
}

// partitionOf returns slot's configured partition number, else the one
// its device has.
func partitionOf(cfg Config, slot string) (int, error) {
	if cfg.Partitions == nil {
		n, err := PartitionNumber(cfg.Slots[slot])
		if err != nil {
			return 0, fmt.Errorf("ab: mender scheme: slot %s: %w; set [component.ab] partitions (e.g. {A = 2, B = 3})", slot, err)
		}
		return n, nil
	}
	n, ok := cfg.Partitions[slot]
	if !ok || n < 1 || n > MaxPartition {
		return 0, fmt.Errorf("ab: mender scheme: partitions gives slot %s number %d, want 1..%d for each slot (e.g. {A = 2, B = 3})",
			slot, n, MaxPartition)
	}
	return n, nil
}

// PartNumber returns the trailing decimal number of a name, which Mender
// uses as mender_boot_part: PartNumber("/dev/mmcblk0p3") = 3. It reads the
// name only; PartitionNumber asks the device.
func PartNumber(dev string) (int, bool) {
	i := len(dev)
	for i > 0 && dev[i-1] >= '0' && dev[i-1] <= '9' {
		i--
	}
	if i == len(dev) || len(dev)-i > 6 {
		return 0, false
	}
	n, err := strconv.Atoi(dev[i:])
	return n, err == nil && n >= 1 && n <= MaxPartition
}

func (m mender) arm(vars map[string]string, slot string) {
	m.point(vars, slot)
	vars[VarUpgradeAvailable] = "1"
	vars[VarBootcount] = "0"
}

// point sets mender_boot_part and its hex twin to slot.
func (m mender) point(vars map[string]string, slot string) {
	vars[VarMenderPart] = strconv.Itoa(m.part[slot])
	vars[VarMenderPartHex] = strconv.FormatInt(int64(m.part[slot]), 16)
}

// slotOf returns the slot mender_boot_part names.
func (m mender) slotOf(vars map[string]string) (string, bool) {
	n, err := strconv.Atoi(vars[VarMenderPart])
	if err != nil {
		return "", false
	}
	for s, p := range m.part {
		if p == n {
			return s, true
		}
	}
	return "", false
}

func (m mender) commit(vars map[string]string, booted string) error {
	armed, ok := m.slotOf(vars)
	if !ok || armed != booted {
		return fmt.Errorf("%w: %s=%q names slot %q, slot %s is running; reboot first or roll back",
			ErrNotBooted, VarMenderPart, vars[VarMenderPart], armed, booted)
	}
	if vars[VarUpgradeAvailable] == "1" {
		vars[VarUpgradeAvailable] = "0"
		vars[VarBootcount] = "0"
	}
	return nil
}

func (m mender) rollback(vars map[string]string, booted string) (string, error) {
	armed, ok := m.slotOf(vars)
	if vars[VarUpgradeAvailable] != "1" || !ok {
		return "", fmt.Errorf("%w: %s=%q, %s=%q", ErrNothingPending,
			VarUpgradeAvailable, vars[VarUpgradeAvailable], VarMenderPart, vars[VarMenderPart])
	}
	next := m.slots[0]
	if next == armed {
		next = m.slots[1]
	}
	m.point(vars, next)
	vars[VarUpgradeAvailable] = "0"
	vars[VarBootcount] = "0"
	return next, nil
}

// fromEnv trusts mender_boot_part except right after Arm: with
// upgrade_available=1 and bootcount=0 no bootloader has tried the armed
// slot yet, so the other one is running.
func (m mender) fromEnv(vars map[string]string) (string, error) {
	s, ok := m.slotOf(vars)
	if !ok {
		return "", fmt.Errorf("%w: %s=%q matches no slot partition %v", ErrUnknownBoot, VarMenderPart, vars[VarMenderPart], m.part)
	}
	if vars[VarUpgradeAvailable] == "1" && vars[VarBootcount] == "0" {
		if s == m.slots[0] {
			return m.slots[1], nil
		}
		return m.slots[0], nil
	}
	return s, nil
}

func (m mender) pending(vars map[string]string, booted string) Pending {
	if vars[VarUpgradeAvailable] != "1" {
		return PendingNone
	}
	if s, ok := m.slotOf(vars); ok && s == booted {
		return PendingTrial
	}
	return PendingArmed
}
