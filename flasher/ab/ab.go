package ab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"ota-agent/flasher"
	"ota-agent/platform/grubenv"
)

// Errors callers test for.
var (
	// ErrBootedSlot means a write to the slot the system runs from was refused.
	ErrBootedSlot = errors.New("slot is the booted one")
	// ErrMounted means the target slot is mounted.
	ErrMounted = errors.New("slot is mounted")
	// ErrSlotTooSmall means the image does not fit the slot.
	ErrSlotTooSmall = errors.New("image larger than slot")
	// ErrVerify means the read-back digest of a slot did not match.
	ErrVerify = errors.New("slot read-back digest mismatch")
	// ErrNothingPending means Rollback found no armed, uncommitted slot.
	ErrNothingPending = errors.New("no pending update in the boot environment")
	// ErrNotBooted means Commit ran while another slot is armed to boot next.
	ErrNotBooted = errors.New("armed slot has not been booted yet")
	// ErrUnknownBoot means the booted slot could not be determined.
	ErrUnknownBoot = errors.New("cannot tell which slot is booted")
)

// Defaults for Config fields left empty.
const (
	DefaultCmdlineFile = "/proc/cmdline"
	DefaultGrubEnv     = "/boot/grub/grubenv"
	DefaultAttempts    = 3
)

// Config describes one A/B component ([component.ab], SPEC §5/§8).
type Config struct {
	Slots       map[string]string // slot name → device or file; exactly two
	Bootloader  string            // "uboot" or "grub"
	EnvConfig   string            // fw_env.config for uboot; "" = /etc/fw_env.config
	GrubEnv     string            // grubenv for grub; "" = /boot/grub/grubenv (grubenv.DefaultPairDir for layout mender)
	Scheme      string            // "rauc" or "mender"
	Attempts    int               // rauc boot attempts on U-Boot, 1..9; 0 = 3 (RAUC on GRUB tries once)
	CmdlineFile string            // kernel command line; "" = /proc/cmdline
	MountsFile  string            // mount table; "" = /proc/self/mounts
	LockFile    string            // env flock; "" = /var/lock/fw_printenv.lock (grubenv.DefaultPairLock for layout mender)
	Log         *slog.Logger      // nil discards

	// GrubenvLayout is LayoutSingle (one grubenv file; "" means it) or
	// LayoutMender: GrubEnv is then grub-mender-grubenv's directory holding
	// mender_grubenv1/{env,lock} and mender_grubenv2/{env,lock}.
	GrubenvLayout string
	// Partitions are the Mender partition numbers of the slots, e.g.
	// {"A": 2, "B": 3}; nil derives them from the slot devices
	// (PartitionOf).
	Partitions map[string]int
	// SkipUnchanged: blocks the inactive slot already holds are not
	// written (SlotFile.SkipUnchanged).
	SkipUnchanged bool
}

// Target is an A/B root filesystem; it implements flasher.ABTarget. It is
// safe for concurrent use to the extent its environment is: U-Boot accesses
// hold the libubootenv lock, grubenv has none.
type Target struct {
	cfg    Config
	slots  []string // sorted slot names
	env    envStore
	scheme scheme
	log    *slog.Logger
}

var _ flasher.ABTarget = (*Target)(nil)

// New checks cfg and returns its Target. It reads nothing yet, except the
// fw_env.config of a U-Boot environment.
func New(cfg Config) (*Target, error) {
	cfg = withDefaults(cfg)
	log := cfg.Log.With("component", "flasher/ab")
	slots := slices.Sorted(maps.Keys(cfg.Slots))
	if len(slots) != 2 {
		return nil, fmt.Errorf("ab: %d slots %v, want exactly two (e.g. A and B)", len(slots), slots)
	}
	if cfg.Attempts < 1 || cfg.Attempts > 9 {
		// U-Boot's setexpr writes counters in hex and "test -gt" reads them
		// as decimal; the two agree only on one digit.
		return nil, fmt.Errorf("ab: attempts = %d, want 1..9", cfg.Attempts)
	}
	env, err := openEnv(cfg, log)
	if err != nil {
		return nil, err
	}
	sch, err := newScheme(cfg, slots)
	if err != nil {
		return nil, err
	}
	return &Target{cfg: cfg, slots: slots, env: env, scheme: sch, log: log}, nil
}

func withDefaults(cfg Config) Config {
	if cfg.Attempts == 0 {
		cfg.Attempts = DefaultAttempts
	}
	if cfg.CmdlineFile == "" {
		cfg.CmdlineFile = DefaultCmdlineFile
	}
	if cfg.GrubEnv == "" {
		cfg.GrubEnv = DefaultGrubEnv
		if cfg.GrubenvLayout == LayoutMender {
			cfg.GrubEnv = grubenv.DefaultPairDir
		}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return cfg
}

// Slots returns the slot names, sorted.
func (t *Target) Slots() []string { return slices.Clone(t.slots) }

// other returns the slot that is not s.
func (t *Target) other(s string) string {
	if t.slots[0] == s {
		return t.slots[1]
	}
	return t.slots[0]
}

// Arm makes slot boot next with boot counting, in one environment store.
// Call it only after the slot's read-back digest matched.
func (t *Target) Arm(ctx context.Context, slot string) error {
	if _, ok := t.cfg.Slots[slot]; !ok {
		return fmt.Errorf("arm: unknown slot %q, want one of %v", slot, t.slots)
	}
	err := t.env.update(ctx, func(v map[string]string) error {
		t.scheme.arm(v, slot)
		return nil
	})
	if err != nil {
		return fmt.Errorf("arm slot %s (%s): %w", slot, t.env, err)
	}
	t.log.Info("slot armed", "slot", slot, "scheme", t.cfg.Scheme)
	return nil
}

// Commit marks the booted slot good: its boot counting ends and it boots
// first. Committing an already committed slot is harmless; committing while
// another slot is armed to boot next fails with ErrNotBooted.
//
// Call it on every start once the running slot is healthy, also after a
// fallback, not only after an update: RAUC's boot script counts down the
// booted slot on every boot (RAUC runs "rauc status mark-good" each boot),
// so a slot never marked good again is abandoned after Attempts boots.
func (t *Target) Commit(ctx context.Context) error {
	booted, err := t.Booted(ctx)
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	err = t.env.update(ctx, func(v map[string]string) error { return t.scheme.commit(v, booted) })
	if err != nil {
		return fmt.Errorf("commit slot %s (%s): %w", booted, t.env, err)
	}
	t.log.Info("slot committed", "slot", booted)
	return nil
}

// Rollback abandons the armed, uncommitted slot: the other slot boots next
// and the armed one is marked bad. Before the reboot that is the booted
// slot; after booting into the armed slot it is the previous one. With
// nothing pending it returns ErrNothingPending and changes nothing.
func (t *Target) Rollback(ctx context.Context) error {
	booted, err := t.Booted(ctx)
	if err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	next := ""
	err = t.env.update(ctx, func(v map[string]string) error {
		var err error
		next, err = t.scheme.rollback(v, booted)
		return err
	})
	if err != nil {
		return fmt.Errorf("rollback (%s): %w", t.env, err)
	}
	t.log.Info("rolled back", "slot", next, "from", booted)
	return nil
}
