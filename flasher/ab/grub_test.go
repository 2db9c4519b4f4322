package ab_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ota-agent/flasher/ab"
	"ota-agent/internal/peertest"
	"ota-agent/platform/ubootenv"
)

// editenv runs the real grub-editenv.
func editenv(t *testing.T, args ...string) string {
	t.Helper()
	return peertest.Run(t, "grub-editenv", "grub-common", args...)
}

// twin copies the rig's grubenv; RAUC's own commands (grub-editenv set, as
// src/bootloaders/grub.c runs them) are applied to the copy.
func twin(t *testing.T, env string) string {
	t.Helper()
	b, err := os.ReadFile(env)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "rauc-grubenv")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRaucGrubWritesRaucVariables: on GRUB, Arm, Commit and Rollback leave
// the grubenv exactly as RAUC's GRUB backend does (mark-active, mark-good,
// mark-bad through grub-editenv set), compared by grub-editenv list; no
// U-Boot BOOT_ORDER/BOOT_x_LEFT appear.
func TestRaucGrubWritesRaucVariables(t *testing.T) {
	ctx := context.Background()
	rig, tgt := newRig(t, "grub", "rauc")
	env := rig.Config.GrubEnv
	rauc := twin(t, env)
	same := func(step string) {
		t.Helper()
		got, want := editenv(t, env, "list"), editenv(t, rauc, "list")
		if got != want {
			t.Errorf("%s: grub-editenv list =\n%swant (RAUC's writes)\n%s", step, got, want)
		}
		if strings.Contains(got, "BOOT_") {
			t.Errorf("%s: U-Boot variables in the grubenv:\n%s", step, got)
		}
	}
	boot(t, rig, tgt, "A")
	editenv(t, rauc, "set", "A_TRY=1") // the boot script's save_env
	same("boot A")

	if err := tgt.Arm(ctx, "B"); err != nil {
		t.Fatal(err)
	}
	editenv(t, rauc, "set", "B_OK=1", "B_TRY=0", "ORDER=B A") // rauc status mark-active B
	same("arm B")
	if p, err := tgt.Pending(ctx); err != nil || p != ab.PendingArmed {
		t.Errorf("Pending after Arm = %v, %v; want armed", p, err)
	}

	boot(t, rig, tgt, "B")
	editenv(t, rauc, "set", "B_TRY=1")
	same("boot B")
	if p, err := tgt.Pending(ctx); err != nil || p != ab.PendingTrial {
		t.Errorf("Pending on the trial boot = %v, %v; want trial", p, err)
	}
	if err := tgt.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	editenv(t, rauc, "set", "B_OK=0", "B_TRY=0")              // mark-bad B
	editenv(t, rauc, "set", "A_OK=1", "A_TRY=0", "ORDER=A B") // mark-active A
	same("rollback")

	bootCommit(t, rig, tgt, "A")
	editenv(t, rauc, "set", "A_TRY=1")
	editenv(t, rauc, "set", "A_OK=1", "A_TRY=0")              // mark-good A
	editenv(t, rauc, "set", "A_OK=1", "A_TRY=0", "ORDER=A B") // mark-active A
	same("commit A")
}

// TestRaucGrubReadsEditenv: states written by grub-editenv (as RAUC and
// the boot script leave them) read back as the right slot and pending state.
func TestRaucGrubReadsEditenv(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		set     []string
		booted  string // "" = the environment cannot tell
		pending ab.Pending
	}{
		{"committed A, booted", []string{"ORDER=A B", "A_OK=1", "A_TRY=1", "B_OK=1", "B_TRY=0"}, "A", ab.PendingTrial},
		{"B armed", []string{"ORDER=B A", "A_OK=1", "A_TRY=0", "B_OK=1", "B_TRY=0"}, "", ab.PendingArmed},
		{"B on trial", []string{"ORDER=B A", "A_OK=1", "A_TRY=0", "B_OK=1", "B_TRY=1"}, "B", ab.PendingTrial},
		{"B marked bad", []string{"ORDER=A B", "A_OK=1", "A_TRY=0", "B_OK=0", "B_TRY=0"}, "", ab.PendingNone},
		{"fallback to A", []string{"ORDER=B A", "A_OK=1", "A_TRY=1", "B_OK=1", "B_TRY=1"}, "", ab.PendingTrial},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig, tgt := newRig(t, "grub", "rauc")
			editenv(t, append([]string{rig.Config.GrubEnv, "set"}, tt.set...)...)
			os.WriteFile(rig.Config.CmdlineFile, []byte("console=ttyS0\n"), 0o644)
			b, err := tgt.Booted(ctx)
			if tt.booted == "" {
				if !errors.Is(err, ab.ErrUnknownBoot) {
					t.Errorf("Booted = %q, %v; want ErrUnknownBoot", b, err)
				}
				return
			}
			if err != nil || b != tt.booted {
				t.Fatalf("Booted = %q, %v; want %s", b, err, tt.booted)
			}
			if p, err := tgt.Pending(ctx); err != nil || p != tt.pending {
				t.Errorf("Pending = %v, %v; want %v", p, err, tt.pending)
			}
		})
	}
}

// TestRaucGrubPendingWithSlot: with rauc.slot= on the command line, the
// flags give the pending state the agent resumes from.
func TestRaucGrubPendingWithSlot(t *testing.T) {
	ctx := context.Background()
	rig, tgt := newRig(t, "grub", "rauc")
	editenv(t, rig.Config.GrubEnv, "set", "ORDER=B A", "A_OK=1", "A_TRY=0", "B_OK=1", "B_TRY=0")
	if p, err := tgt.Pending(ctx); err != nil || p != ab.PendingArmed {
		t.Errorf("Pending with B armed, A booted = %v, %v; want armed", p, err)
	}
	if err := tgt.Commit(ctx); !errors.Is(err, ab.ErrNotBooted) {
		t.Errorf("Commit with B armed = %v, want ErrNotBooted", err)
	}
	editenv(t, rig.Config.GrubEnv, "set", "ORDER=A B", "B_OK=0")
	if p, err := tgt.Pending(ctx); err != nil || p != ab.PendingNone {
		t.Errorf("Pending with B marked bad = %v, %v; want none", p, err)
	}
	if err := tgt.Rollback(ctx); !errors.Is(err, ab.ErrNothingPending) {
		t.Errorf("Rollback with nothing pending = %v, want ErrNothingPending", err)
	}
}

// TestMenderPairLayout: on grub-mender-grubenv's layout Arm writes both
// copies (grub-editenv lists the same variables in each, both locks
// editing=0), and a change waits for grub-mender-grubenv-set's flock.
func TestMenderPairLayout(t *testing.T) {
	ctx := context.Background()
	rig, tgt := newRigLayout(t, "grub", "mender", ab.LayoutMender)
	if err := tgt.Arm(ctx, "B"); err != nil {
		t.Fatal(err)
	}
	dir := rig.Config.GrubEnv
	want := "bootcount=0\nmender_boot_part=3\nupgrade_available=1\nmender_boot_part_hex=3\n"
	for _, c := range []string{"mender_grubenv1", "mender_grubenv2"} {
		if got := editenv(t, filepath.Join(dir, c, "env"), "list"); got != want {
			t.Errorf("%s/env: grub-editenv list = %q, want %q", c, got, want)
		}
		if got := editenv(t, filepath.Join(dir, c, "lock"), "list"); got != "editing=0\n" {
			t.Errorf("%s/lock: grub-editenv list = %q, want editing=0", c, got)
		}
	}
	held, err := ubootenv.AcquireLock(ctx, rig.Config.LockFile)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := tgt.Rollback(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Rollback while grub-mender-grubenv-set holds the lock = %v, want it to wait", err)
	}
}

// TestGrubenvLayoutRefused: the two-file layout is Mender's only.
func TestGrubenvLayoutRefused(t *testing.T) {
	rig, _ := newRig(t, "grub", "rauc")
	for _, tt := range []struct{ scheme, layout, want string }{
		{"rauc", ab.LayoutMender, "needs scheme mender"},
		{"mender", "double", `grubenv_layout "double", want single or mender`},
	} {
		cfg := rig.Config
		cfg.Scheme, cfg.GrubenvLayout = tt.scheme, tt.layout
		if _, err := ab.New(cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(scheme %s, layout %s) = %v, want an error with %q", tt.scheme, tt.layout, err, tt.want)
		}
	}
}
