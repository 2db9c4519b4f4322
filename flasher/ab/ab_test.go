package ab_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"ota-agent/flasher"
	"ota-agent/flasher/ab"
	"ota-agent/flasher/ab/abtest"
)

const slotSize = 3<<20 + 4096

func newRig(t *testing.T, bootloader, scheme string) (*abtest.Rig, *ab.Target) {
	t.Helper()
	return newRigLayout(t, bootloader, scheme, "")
}

func newRigLayout(t *testing.T, bootloader, scheme, layout string) (*abtest.Rig, *ab.Target) {
	t.Helper()
	rig, err := abtest.NewRig(t.TempDir(), abtest.RigConfig{Bootloader: bootloader, Scheme: scheme, SlotSize: slotSize, GrubenvLayout: layout})
	if err != nil {
		t.Fatal(err)
	}
	cfg := rig.Config
	cfg.Log = slog.New(slog.NewTextHandler(t.Output(), nil))
	tgt, err := ab.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rig, tgt
}

func image(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// install streams img into the inactive slot the way the download engine
// does (odd-sized pieces, a resume from an earlier offset), verifies it and
// arms it. It returns the slot name.
func install(t *testing.T, tgt *ab.Target, img []byte) string {
	t.Helper()
	ctx := context.Background()
	slot, err := tgt.OpenInactive(ctx, int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	defer slot.Close()
	half := int64(len(img) / 2)
	if _, err := io.CopyBuffer(io.NewOffsetWriter(slot, 0), bytes.NewReader(img[:half]), make([]byte, 32*1024+7)); err != nil {
		t.Fatal(err)
	}
	if err := slot.Sync(); err != nil {
		t.Fatal(err)
	}
	resume := max(0, half-12345) // the engine may rewrite up to one sync interval
	if _, err := io.CopyBuffer(io.NewOffsetWriter(slot, resume), bytes.NewReader(img[resume:]), make([]byte, 4093)); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(img)
	bad := sum
	bad[0] ^= 1
	if err := slot.Verify(ctx, int64(len(img)), bad[:]); !errors.Is(err, ab.ErrVerify) {
		t.Fatalf("Verify(wrong digest) = %v, want ErrVerify", err)
	}
	if err := slot.Verify(ctx, int64(len(img)), sum[:]); err != nil {
		t.Fatal(err)
	}
	if err := slot.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tgt.Arm(ctx, slot.Name()); err != nil {
		t.Fatal(err)
	}
	return slot.Name()
}

// bootCommit boots and commits as the daemon does on every start: RAUC's
// script counts down even a committed slot, so it is marked good each boot.
func bootCommit(t *testing.T, rig *abtest.Rig, tgt *ab.Target, want string) {
	t.Helper()
	boot(t, rig, tgt, want)
	if err := tgt.Commit(context.Background()); err != nil {
		t.Fatalf("Commit on boot into %s: %v", want, err)
	}
}

func boot(t *testing.T, rig *abtest.Rig, tgt *ab.Target, want string) {
	t.Helper()
	got, err := rig.Boot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		v, _ := rig.Vars(context.Background())
		t.Fatalf("bootloader booted %s, want %s; env %v", got, want, v)
	}
	if b, err := tgt.Booted(context.Background()); err != nil || b != want {
		t.Fatalf("Booted() = %q, %v; want %s", b, err, want)
	}
}

type setup struct{ bootloader, scheme, layout string }

var setups = []setup{
	{"uboot", "rauc", ""}, {"uboot", "mender", ""}, {"grub", "rauc", ""}, {"grub", "mender", ""}, {"grub", "mender", ab.LayoutMender},
}

func (s setup) String() string { return strings.Trim(s.bootloader+"/"+s.scheme+"/"+s.layout, "/") }

// TestInstallCommit: install → reboot into the target → commit; it stays.
// Then install → failed boots → the bootloader falls back → Booted is the
// old slot (the engine records the failure); Commit there is harmless.
func TestInstallCommitAndFallback(t *testing.T) {
	for _, s := range setups {
		t.Run(s.String(), func(t *testing.T) {
			ctx := context.Background()
			rig, tgt := newRigLayout(t, s.bootloader, s.scheme, s.layout)
			boot(t, rig, tgt, "A")
			imgA, _ := os.ReadFile(rig.Config.Slots["A"])

			img := image(1, 2<<20+333)
			if got := install(t, tgt, img); got != "B" {
				t.Fatalf("installed into %s, want B", got)
			}
			if after, _ := os.ReadFile(rig.Config.Slots["A"]); !bytes.Equal(after, imgA) {
				t.Fatal("the booted slot A changed during the install")
			}
			if err := tgt.Commit(ctx); !errors.Is(err, ab.ErrNotBooted) {
				t.Errorf("Commit before the reboot = %v, want ErrNotBooted", err)
			}
			boot(t, rig, tgt, "B")
			if err := tgt.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if err := tgt.Commit(ctx); err != nil {
				t.Errorf("second Commit = %v, want a no-op", err)
			}
			for range 5 {
				bootCommit(t, rig, tgt, "B")
			}
			if err := tgt.Rollback(ctx); !errors.Is(err, ab.ErrNothingPending) {
				t.Errorf("Rollback after commit = %v, want ErrNothingPending", err)
			}

			install(t, tgt, image(2, 1<<20))
			fallback := false
			for i := range 6 { // never committed: the bootloader must give up on A
				got, err := rig.Boot(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if got == "B" {
					fallback = true
					break
				}
				if i >= 3 {
					t.Fatalf("boot %d still into A, want a fallback to B", i)
				}
			}
			if !fallback {
				t.Fatal("no fallback")
			}
			if b, err := tgt.Booted(ctx); err != nil || b != "B" {
				t.Fatalf("Booted after fallback = %q, %v; want B", b, err)
			}
			if err := tgt.Commit(ctx); err != nil {
				t.Errorf("Commit of the fallback slot = %v", err)
			}
			for range 4 {
				bootCommit(t, rig, tgt, "B")
			}
		})
	}
}

// TestRollbackBeforeReboot: Arm, then Rollback: the booted slot stays.
func TestRollbackBeforeReboot(t *testing.T) {
	for _, s := range setups {
		t.Run(s.String(), func(t *testing.T) {
			rig, tgt := newRigLayout(t, s.bootloader, s.scheme, s.layout)
			boot(t, rig, tgt, "A")
			install(t, tgt, image(3, 4096))
			if err := tgt.Rollback(context.Background()); err != nil {
				t.Fatal(err)
			}
			for range 5 {
				bootCommit(t, rig, tgt, "A")
			}
		})
	}
}

// TestRollbackAfterReboot: booted into the armed slot, health failed:
// Rollback makes the old slot boot next.
func TestRollbackAfterReboot(t *testing.T) {
	for _, s := range setups {
		t.Run(s.String(), func(t *testing.T) {
			rig, tgt := newRigLayout(t, s.bootloader, s.scheme, s.layout)
			boot(t, rig, tgt, "A")
			install(t, tgt, image(4, 4096))
			boot(t, rig, tgt, "B")
			if err := tgt.Rollback(context.Background()); err != nil {
				t.Fatal(err)
			}
			for range 5 {
				bootCommit(t, rig, tgt, "A")
			}
		})
	}
}

// TestInterruptedSlotWrite: a write cut off (slot closed half-way, as a
// crash would) leaves the booted slot and the environment untouched.
func TestInterruptedSlotWrite(t *testing.T) {
	rig, tgt := newRig(t, "uboot", "rauc")
	ctx := context.Background()
	boot(t, rig, tgt, "A")
	snap := func() [][]byte {
		var out [][]byte
		for _, p := range []string{rig.Config.Slots["A"], rig.Dir + "/uboot0.env", rig.Dir + "/uboot1.env"} {
			b, _ := os.ReadFile(p)
			out = append(out, b)
		}
		return out
	}
	before := snap()
	slot, err := tgt.OpenInactive(ctx, 2<<20)
	if err != nil {
		t.Fatal(err)
	}
	slot.WriteAt(image(5, 1<<20+100), 0)
	slot.Close()
	for i, b := range snap() {
		if !bytes.Equal(b, before[i]) {
			t.Errorf("file %d changed by an interrupted slot write", i)
		}
	}
	boot(t, rig, tgt, "A")
}

func TestOpenInactiveRefuses(t *testing.T) {
	ctx := context.Background()
	t.Run("mounted", func(t *testing.T) {
		rig, tgt := newRig(t, "uboot", "rauc")
		os.WriteFile(rig.Config.MountsFile, []byte("/dev/vda1 / ext4 rw 0 0\n"+rig.Config.Slots["B"]+" /mnt ext4 ro 0 0\n"), 0o644)
		if _, err := tgt.OpenInactive(ctx, 100); !errors.Is(err, ab.ErrMounted) {
			t.Errorf("OpenInactive = %v, want ErrMounted", err)
		}
	})
	t.Run("too small", func(t *testing.T) {
		_, tgt := newRig(t, "uboot", "rauc")
		if _, err := tgt.OpenInactive(ctx, slotSize+1); !errors.Is(err, ab.ErrSlotTooSmall) {
			t.Errorf("OpenInactive = %v, want ErrSlotTooSmall", err)
		}
	})
	t.Run("write past end", func(t *testing.T) {
		_, tgt := newRig(t, "grub", "rauc")
		s, err := tgt.OpenInactive(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.WriteAt([]byte{1, 2}, slotSize-1); !errors.Is(err, ab.ErrSlotTooSmall) {
			t.Errorf("WriteAt past the end = %v, want ErrSlotTooSmall", err)
		}
	})
	t.Run("same device", func(t *testing.T) {
		rig, _ := newRig(t, "uboot", "rauc")
		cfg := rig.Config
		os.Remove(cfg.Slots["B"])
		os.Link(cfg.Slots["A"], cfg.Slots["B"])
		tgt, err := ab.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tgt.OpenInactive(ctx, 100); !errors.Is(err, ab.ErrBootedSlot) {
			t.Errorf("OpenInactive = %v, want ErrBootedSlot", err)
		}
	})
	t.Run("unknown cmdline slot", func(t *testing.T) {
		rig, tgt := newRig(t, "uboot", "rauc")
		os.WriteFile(rig.Config.CmdlineFile, []byte("rauc.slot=C\n"), 0o644)
		if _, err := tgt.OpenInactive(ctx, 100); !errors.Is(err, ab.ErrUnknownBoot) {
			t.Errorf("OpenInactive = %v, want ErrUnknownBoot", err)
		}
	})
}

func TestNewRefuses(t *testing.T) {
	rig, _ := newRig(t, "uboot", "mender")
	tests := []struct {
		name string
		edit func(*ab.Config)
	}{
		{"one slot", func(c *ab.Config) { c.Slots = map[string]string{"A": "/dev/mmcblk0p2"} }},
		{"bad scheme", func(c *ab.Config) { c.Scheme = "swupdate" }},
		{"bad bootloader", func(c *ab.Config) { c.Bootloader = "barebox" }},
		{"attempts", func(c *ab.Config) { c.Attempts = 12 }},
		{"mender without partition numbers", func(c *ab.Config) { c.Slots = map[string]string{"A": "/x/a", "B": "/x/b"} }},
		{"mender on whole loop devices", func(c *ab.Config) { c.Slots = map[string]string{"A": "/dev/loop3", "B": "/dev/loop4"} }},
		{"mender partitions missing a slot", func(c *ab.Config) { c.Partitions = map[string]int{"A": 2} }},
		{"missing env config", func(c *ab.Config) { c.EnvConfig = "/nonexistent/fw_env.config" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := rig.Config
			tt.edit(&cfg)
			if _, err := ab.New(cfg); err == nil {
				t.Error("New succeeded, want an error")
			}
		})
	}
}

func TestPartNumber(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{{"/dev/mmcblk0p2", 2, true}, {"/dev/sda10", 10, true}, {"/dev/root", 0, false}, {"", 0, false}}
	for _, tt := range tests {
		if got, ok := ab.PartNumber(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("PartNumber(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

var _ flasher.ABTarget = (*ab.Target)(nil)

// TestBootedFromEnv: without a slot on the command line and no root device
// match, the environment decides, or Booted says it cannot tell.
func TestBootedFromEnv(t *testing.T) {
	ctx := context.Background()
	t.Run("rauc", func(t *testing.T) {
		rig, tgt := newRig(t, "uboot", "rauc")
		rig.Boot(ctx)
		os.WriteFile(rig.Config.CmdlineFile, []byte("console=ttyS0\n"), 0o644)
		if b, err := tgt.Booted(ctx); err != nil || b != "A" {
			t.Errorf("Booted after a counted boot = %q, %v; want A", b, err)
		}
		tgt.Arm(ctx, "B")
		if b, err := tgt.Booted(ctx); !errors.Is(err, ab.ErrUnknownBoot) {
			t.Errorf("Booted with B freshly armed = %q, %v; want ErrUnknownBoot, not a guess", b, err)
		}
	})
	t.Run("mender", func(t *testing.T) {
		rig, tgt := newRig(t, "uboot", "mender")
		os.WriteFile(rig.Config.CmdlineFile, []byte("console=ttyS0\n"), 0o644)
		if b, err := tgt.Booted(ctx); err != nil || b != "A" {
			t.Errorf("Booted = %q, %v; want A", b, err)
		}
		tgt.Arm(ctx, "B")
		if b, err := tgt.Booted(ctx); err != nil || b != "A" {
			t.Errorf("Booted with B armed, not booted = %q, %v; want A", b, err)
		}
		rig.Boot(ctx)
		os.WriteFile(rig.Config.CmdlineFile, []byte("console=ttyS0\n"), 0o644)
		if b, err := tgt.Booted(ctx); err != nil || b != "B" {
			t.Errorf("Booted after the trial boot = %q, %v; want B", b, err)
		}
	})
}
