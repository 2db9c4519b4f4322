package main

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// cutPoint is one phase of the update the campaign cuts power in: cut runs
// the update from a fresh disk up to a seeded random instant of the phase,
// kills QEMU there and says where.
type cutPoint struct {
	phase string
	cut   func(ctx context.Context, r *rig, rnd *rand.Rand) (string, error)
}

var cutPoints = []cutPoint{
	{"download", func(ctx context.Context, r *rig, rnd *rand.Rand) (string, error) {
		return r.cutInPhase(ctx, "downloading", 0, jitter(rnd, 8*time.Second))
	}},
	{"slot write", func(ctx context.Context, r *rig, rnd *rand.Rand) (string, error) {
		// The zip streams into slot B (phase downloading); its last half.
		return r.cutInPhase(ctx, "downloading", 50, jitter(rnd, 4*time.Second))
	}},
	{"env write", func(ctx context.Context, r *rig, rnd *rand.Rand) (string, error) {
		// U-Boot prints this between its env export and its virtio write.
		return r.cutAfterConsole(ctx, `found valid slot B, 2 attempts remaining`, jitter(rnd, 300*time.Millisecond))
	}},
	{"reboot", func(ctx context.Context, r *rig, rnd *rand.Rand) (string, error) {
		return r.cutAfterConsole(ctx, `reboot: Restarting system`, jitter(rnd, 12*time.Second))
	}},
	{"commit", func(ctx context.Context, r *rig, rnd *rand.Rand) (string, error) {
		if err := r.watchUntilReboot(ctx, 15*time.Minute); err != nil {
			return "", err
		}
		if err := r.expectBoot(ctx, "B"); err != nil {
			return "", err
		}
		d := jitter(rnd, 10*time.Second)
		r.vm.pause(ctx, d)
		r.cut()
		return fmt.Sprintf("%s after the root shell in B (MCU flash, health check, commit)", d), nil
	}},
}

// jitter is a seeded instant in [0, max).
func jitter(rnd *rand.Rand, max time.Duration) time.Duration {
	return time.Duration(rnd.Int63n(int64(max))).Round(time.Millisecond)
}

// cut kills QEMU: the board loses power.
func (r *rig) cut() {
	r.vm.kill()
	r.vm = nil
}

// cutInPhase polls the agent's status in A until rootfs is in phase with
// at least minPct of the package fetched, then cuts d later.
func (r *rig) cutInPhase(ctx context.Context, phase string, minPct int64, d time.Duration) (string, error) {
	var pct string
	_, err := r.waitStatus(ctx, 10*time.Minute, func(st map[string]componentStatus) bool {
		p := st["rootfs"].Progress
		if st["rootfs"].Phase != phase || p.Total == 0 || p.Done*100 < minPct*p.Total {
			return false
		}
		pct = fmt.Sprintf("%d of %d bytes fetched", st["rootfs"].Progress.Done, st["rootfs"].Progress.Total)
		return true
	})
	if err != nil {
		return "", fmt.Errorf("phase %s never seen: %w", phase, err)
	}
	r.vm.pause(ctx, d)
	r.cut()
	return fmt.Sprintf("%s after status showed %s (%s)", d, phase, pct), nil
}

// cutAfterConsole waits, without typing, for re on the console and cuts d
// later.
func (r *rig) cutAfterConsole(ctx context.Context, re string, d time.Duration) (string, error) {
	if _, err := r.vm.con.expect(ctx, regexp.MustCompile(re), 15*time.Minute); err != nil {
		return "", err
	}
	r.vm.pause(ctx, d)
	r.cut()
	return fmt.Sprintf("%s after console %q", d, re), nil
}

// scenarioPowercut: a seeded campaign of power cuts across download, slot
// write, env write, reboot and commit. After each cut the host's
// fw_printenv must read a valid env from the disk, the restarted board must
// boot a slot, and the update must complete or roll back by itself.
func scenarioPowercut(ctx context.Context, r *rig) error {
	seed, n := r.b.seed, r.b.cuts
	fmt.Printf("board: powercut: seed %d, %d cuts (rerun with -seed %d)\n", seed, n, seed)
	rnd := rand.New(rand.NewSource(seed))
	order := rnd.Perm(len(cutPoints))
	counts := map[string]int{}
	outcomes := map[string]int{}
	for i := 0; i < n; i++ {
		p := cutPoints[order[i%len(order)]]
		out, err := r.oneCut(ctx, i+1, p, rnd)
		if err != nil {
			return fmt.Errorf("cut %d (%s, seed %d): %w", i+1, p.phase, seed, err)
		}
		counts[p.phase]++
		outcomes[out]++
	}
	var by []string
	for _, p := range cutPoints {
		by = append(by, fmt.Sprintf("%s %d", p.phase, counts[p.phase]))
	}
	fmt.Printf("board: powercut: seed %d: %d cuts (%s), all recovered: %d completed, %d rolled back\n",
		seed, n, strings.Join(by, ", "), outcomes["completed"], outcomes["rolled back"])
	return nil
}

// oneCut runs one update from a fresh disk, cuts power in p and checks the
// recovery; it returns "completed" or "rolled back".
func (r *rig) oneCut(ctx context.Context, i int, p cutPoint, rnd *rand.Rand) (string, error) {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c, err := newRig(cctx, r.b, filepath.Join(r.work, fmt.Sprintf("cut-%d", i)))
	if err != nil {
		return "", err
	}
	defer c.close()
	if _, err := c.publish("2.0.0", "slot-2.0.0.ext4"); err != nil {
		return "", err
	}
	t0 := time.Now()
	if err := c.firstBoot(cctx); err != nil {
		return "", err
	}
	where, err := p.cut(cctx, c, rnd)
	if err != nil {
		return "", err
	}
	fmt.Printf("board: powercut %d: %s: cut %s, %s into the run\n", i, p.phase, where, time.Since(t0).Round(time.Second))
	if err := c.checkEnvValid(); err != nil {
		return "", err
	}
	t1 := time.Now()
	out, err := c.recoverAfterCut(cctx)
	if err != nil {
		return "", err
	}
	fmt.Printf("board: powercut %d: %s: recovered, update %s, %s after power came back\n", i, p.phase, out, time.Since(t1).Round(time.Second))
	if err := c.poweroff(cctx); err != nil {
		return "", err
	}
	if err := c.checkEnvValid(); err != nil {
		return "", err
	}
	_ = os.Remove(filepath.Join(c.work, "disk.img"))
	return out, nil
}

// checkEnvValid reads the disk's env with the host's fw_printenv: its CRC
// must hold and BOOT_ORDER name both slots.
func (r *rig) checkEnvValid() error {
	env, err := r.env()
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(env), "\n")
	if !slices.Contains(lines, "BOOT_ORDER=A B") && !slices.Contains(lines, "BOOT_ORDER=B A") {
		return fmt.Errorf("U-Boot env after the cut: no valid BOOT_ORDER in %q", lines)
	}
	fmt.Printf("board: env on the disk (fw_printenv): %s\n", strings.Join(lines, " "))
	return nil
}

// recoverAfterCut powers the board on again and follows it until the
// update has completed in B or the agent in A reports 2.0.0 rolled back.
func (r *rig) recoverAfterCut(ctx context.Context) (string, error) {
	if err := r.boot(); err != nil {
		return "", err
	}
	m, err := r.vm.con.expect(ctx, regexp.MustCompile(`board: booting slot ([AB])`), 3*time.Minute)
	if err != nil {
		return "", fmt.Errorf("no slot booted after the cut: %w", err)
	}
	if err := r.vm.login(ctx, 3*time.Minute); err != nil {
		return "", err
	}
	fmt.Printf("board: power back: U-Boot booted slot %s\n", m[1])
	if m[1] == "A" {
		out, err := r.followInA(ctx)
		if err != nil || out == "rolled back" {
			return out, err
		}
	}
	return "completed", r.expectCommitted(ctx, "B", "2.0.0", "2.0.0")
}

// followInA watches the agent in A: it either reports 2.0.0 rolled back or
// takes the update again; then the console is left alone (a key in U-Boot's
// countdown would stop the boot) until the board has rebooted into B.
func (r *rig) followInA(ctx context.Context) (string, error) {
	st, err := r.waitStatus(ctx, 10*time.Minute, func(st map[string]componentStatus) bool {
		rf := st["rootfs"]
		late := rf.Phase == "downloading" && rf.Progress.Total > 0 && rf.Progress.Done*10 >= rf.Progress.Total*8
		return late || rf.Phase == "verifying" || rf.Phase == "installing" || rf.Phase == "rebooting" ||
			rf.Version == "2.0.0" || slices.Contains(rf.FailedVersions, "2.0.0")
	})
	if err != nil {
		return "", err
	}
	switch {
	case slices.Contains(st["rootfs"].FailedVersions, "2.0.0"):
		fmt.Printf("board: agent in A reports 2.0.0 rolled back: %s\n", st["rootfs"].LastError)
		return "rolled back", nil
	case st["rootfs"].Version == "2.0.0": // the reboot came between two polls
		return "", nil
	}
	if err := r.watchUntilReboot(ctx, 15*time.Minute); err != nil {
		return "", err
	}
	return "", r.expectBoot(ctx, "B")
}
