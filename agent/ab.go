package agent

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"ota-agent/agent/config"
	"ota-agent/agent/state"
	"ota-agent/flasher"
	"ota-agent/flasher/ab"
	"ota-agent/transport"
	"ota-agent/transport/download"
)

// healthTimeout bounds each ab.health command.
const healthTimeout = 5 * time.Minute

// ErrRolledBack is returned by Commit when the device came back up in the
// old slot: the bootloader rolled the install back.
var ErrRolledBack = errors.New("bootloader rolled back")

// installAB streams the offer straight into the inactive slot, unpacking
// on the way, verifies the image by read-back, arms the slot, persists
// `rebooting` and then runs ab.reboot.
func (a *Agent) installAB(ctx context.Context, c *config.Component, of *transport.Offer) error {
	t := a.o.Targets.AB[c.Name]
	if t == nil {
		return fmt.Errorf("component %s: no A/B target", c.Name)
	}
	if of.URL == "" && !a.resolves() {
		return fmt.Errorf("offer %s %s has no URL; an ab image must be downloaded", c.Name, of.Version)
	}
	if err := a.settleEnv(ctx, c, t); err != nil {
		return err
	}
	need := download.NeedBytes(download.Request{Size: of.Size, SizeIsEstimate: of.SizeIsEstimate})
	slot, err := t.OpenInactive(ctx, need)
	if err != nil && of.SizeIsEstimate && errors.Is(err, ab.ErrSlotTooSmall) {
		return fmt.Errorf("open inactive slot of %s: the offer estimates the image at about %d bytes (%d with the 5%% margin), more than the slot holds: %w", c.Name, of.Size, need, err)
	}
	if err != nil {
		return fmt.Errorf("open inactive slot of %s: %w", c.Name, err)
	}
	defer slot.Close()
	if err := os.MkdirAll(a.downloadDir(), 0o700); err != nil {
		return fmt.Errorf("download journal directory: %w", err)
	}
	w, err := a.writeSlot(ctx, c, *of, slot)
	if err != nil {
		return err
	}
	a.adopt(c.Name, of, w.SignedVersion)
	if err := a.setPhase(c.Name, state.Installing, "arm slot "+slot.Name(), nil); err != nil {
		return err
	}
	if len(w.Parts) > 0 {
		if err := a.newSet(ctx, c.Name, *of, parts(w.Parts), state.SetArmed); err != nil {
			return err
		}
	}
	if err := t.Arm(ctx, slot.Name()); err != nil {
		return err
	}
	boot := bootIdentity(c)
	if err := a.setPhase(c.Name, state.Rebooting, "slot "+slot.Name()+" armed", func(cs *state.Component) { cs.BootID, cs.Written, cs.Proof = boot, nil, w.Proof }); err != nil {
		return err
	}
	a.cleanDownloads(c.Name)
	a.log.Info("slot armed", "device", c.Name, "slot", slot.Name(), "version", of.Version, "bytes", w.Size, "proof", w.Proof)
	a.queue(transport.Report{Component: c.Name, Version: of.Version, FromVersion: a.snapshot().Component(c.Name).FromVersion, Event: transport.EventDownload, OK: true, OfferID: of.ID, Extra: of.Extra})
	return a.reboot(ctx, c)
}

// writeSlot writes the offer's image into slot and reads it back. A slot
// written in full before a restart (state says so) is only read back
// again; when that read-back fails, the image is downloaded again.
func (a *Agent) writeSlot(ctx context.Context, c *config.Component, of transport.Offer, slot flasher.Slot) (*state.Written, error) {
	if w := a.snapshot().Component(c.Name).Written; w != nil && w.Version == of.Version && w.URL == of.URL && w.Slot == slot.Name() {
		a.log.Info("slot was written before the restart; reading it back", "device", c.Name, "slot", slot.Name(), "bytes", w.Size)
		err := a.readBack(ctx, c, slot, w, slot.Verify)
		if err == nil || ctx.Err() != nil {
			return w, err
		}
		a.log.Warn("read-back of the slot written before the restart failed; downloading again", "device", c.Name, "err", err)
		if err := a.setPhase(c.Name, state.Downloading, "read-back failed; downloading again", func(cs *state.Component) { cs.Written = nil }); err != nil {
			return nil, err
		}
	}
	var w *state.Written
	err := a.twice(c.Name, of.Version, func() error {
		e, err := a.streamIntoSlot(ctx, c, of, slot)
		if err != nil {
			return err
		}
		w = &state.Written{Version: of.Version, URL: of.URL, Slot: slot.Name(), Size: e.Size, SHA256: e.SHA256, Proof: e.Proof, SignedVersion: e.Version}
		for _, o := range e.Others {
			w.Parts = append(w.Parts, state.Member{Component: o.Component, Version: o.Version, Image: o.Path, Size: o.Size, SHA256: o.SHA256})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return w, a.readBack(ctx, c, slot, w, slot.VerifyWritten)
}

// readBack persists `verifying` with what was written, then compares the
// slot's content with it through verify: slot.VerifyWritten right after
// the slot was written in this process (the SHA-256 taken on the way in
// proved the image), slot.Verify for a slot written before a restart.
func (a *Agent) readBack(ctx context.Context, c *config.Component, slot flasher.Slot, w *state.Written, verify func(context.Context, int64, []byte) error) error {
	err := a.setPhase(c.Name, state.Verifying, "read back slot "+slot.Name(), func(cs *state.Component) { cs.Slot, cs.Written = slot.Name(), w })
	if err != nil {
		return err
	}
	sum, _ := hex.DecodeString(w.SHA256)
	if err := verify(ctx, w.Size, sum); err != nil {
		return fmt.Errorf("read-back of slot %s: %w", slot.Name(), err)
	}
	return nil
}

// settleEnv makes sure the slot about to be written is neither armed nor
// the fallback of a booted slot on trial, from the boot environment alone
// (state.json may have been lost): an armed inactive slot is disarmed; a
// booted slot on trial must pass ab.health and is committed first.
func (a *Agent) settleEnv(ctx context.Context, c *config.Component, t flasher.ABTarget) error {
	p, err := t.Pending(ctx)
	if err != nil {
		return fmt.Errorf("component %s: read the boot environment before writing a slot: %w", c.Name, err)
	}
	switch p {
	case flasher.PendingArmed:
		a.log.Warn("the inactive slot is armed in the boot environment with no install recorded; disarming it before writing it", "device", c.Name)
		if err := t.Rollback(ctx); err != nil {
			return fmt.Errorf("component %s: disarm the inactive slot before writing it: %w", c.Name, err)
		}
	case flasher.PendingTrial:
		a.log.Warn("the booted slot is on trial in the boot environment with no install recorded; checking its health and committing it before writing the fallback slot", "device", c.Name)
		if err := a.health(ctx, c); err != nil {
			return fmt.Errorf("component %s: the booted slot is on trial and not healthy, so the fallback slot is not written: %w", c.Name, err)
		}
		if err := t.Commit(ctx); err != nil {
			return fmt.Errorf("component %s: commit the booted slot on trial before writing the fallback slot: %w", c.Name, err)
		}
	}
	return nil
}

// rebootError is a failed ab.reboot: the slot stays armed and the install
// pending until the device reboots.
type rebootError struct{ err error }

func (e *rebootError) Error() string { return e.err.Error() }
func (e *rebootError) Unwrap() error { return e.err }

// reboot runs ab.reboot; with none configured the operator reboots.
func (a *Agent) reboot(ctx context.Context, c *config.Component) error {
	if len(c.AB.Reboot) == 0 {
		a.log.Info("slot armed; reboot to boot it (ab.reboot is empty)", "device", c.Name)
		return nil
	}
	a.FlushReports(ctx)
	out, err := exec.CommandContext(ctx, c.AB.Reboot[0], c.AB.Reboot[1:]...).CombinedOutput()
	if shuttingDown(err) {
		a.log.Info("reboot command ended by the shutdown it started", "device", c.Name, "err", err)
		return nil
	}
	if err != nil {
		return &rebootError{fmt.Errorf("reboot command %q: %w: %s; the slot is armed and the install pending: reboot the device by hand", strings.Join(c.AB.Reboot, " "), err, strings.TrimSpace(string(out)))}
	}
	return nil
}

// ResolvePending finishes A/B installs left in rebooting or committing:
// booted into the target slot → health commands → commit → success report;
// booted elsewhere → the version is marked failed and reported. It returns
// what it did, for people, and ErrRolledBack (wrapped) for a rollback.
func (a *Agent) ResolvePending(ctx context.Context) (string, error) {
	a.op.Lock()
	defer a.op.Unlock()
	return a.resolvePending(ctx)
}

// ErrNotRebooted means an armed slot waits for a reboot that has not
// happened yet (same kernel boot as when it was armed): nothing is judged.
var ErrNotRebooted = errors.New("the device has not rebooted since the slot was armed; reboot to boot it")

// bootIdentity names the running boot: the kernel's boot_id, and the inode
// and modification time of the command line file the booted slot is read
// from (a simulated bootloader, abtest's, writes a new one on every "boot").
// An armed install is judged only in a later boot; otherwise an agent
// restarted before the operator reboots would take the old slot for a
// rollback.
func bootIdentity(c *config.Component) string {
	id, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	s := strings.TrimSpace(string(id))
	if fi, err := os.Stat(c.AB.CmdlineFile); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			s += fmt.Sprintf(" %d", st.Ino)
		}
		s += fmt.Sprintf(" %d", fi.ModTime().UnixNano())
	}
	return s
}

// MarkGood marks the booted slot of every settled A/B component good, after
// its health commands pass, as rauc-mark-good does at every boot: the RAUC
// boot script counts the running slot down on each boot, so a slot that is
// not marked good again would be given up after ab.attempts boots. The
// daemon calls it at start, after pending installs are resolved.
func (a *Agent) MarkGood(ctx context.Context) error {
	a.op.Lock()
	defer a.op.Unlock()
	var errs []error
	for i := range a.cfg.Components {
		c := &a.cfg.Components[i]
		t := a.o.Targets.AB[c.Name]
		cs := a.snapshot().Components[c.Name]
		if c.Type != config.KindAB || t == nil || (cs != nil && armed(cs.Phase)) {
			continue
		}
		if err := a.health(ctx, c); err != nil {
			errs = append(errs, fmt.Errorf("component %s: booted slot not marked good: %w", c.Name, err))
			continue
		}
		if err := t.Commit(ctx); err != nil {
			errs = append(errs, fmt.Errorf("component %s: mark booted slot good: %w", c.Name, err))
			continue
		}
		a.log.Info("booted slot marked good", "device", c.Name)
	}
	return errors.Join(errs...)
}

// ErrBusy is returned by Commit and Rollback while an install runs.
var ErrBusy = errors.New("an install is in progress; try again when `ota-agent status` shows no component downloading or installing")

// resolvePending is ResolvePending with a.op held.
func (a *Agent) resolvePending(ctx context.Context) (string, error) {
	var msgs []string
	var errs []error
	for i := range a.cfg.Components {
		c := &a.cfg.Components[i]
		cs := a.snapshot().Components[c.Name]
		if c.Type != config.KindAB || cs == nil || !armed(cs.Phase) {
			continue
		}
		msg, err := a.resolve(ctx, c, cs)
		msgs = append(msgs, msg)
		errs = append(errs, err)
	}
	return strings.Join(msgs, "; "), errors.Join(errs...)
}

func (a *Agent) resolve(ctx context.Context, c *config.Component, cs *state.Component) (string, error) {
	t := a.o.Targets.AB[c.Name]
	if t == nil {
		return "", fmt.Errorf("component %s: no A/B target", c.Name)
	}
	if cs.BootID != "" && cs.BootID == bootIdentity(c) {
		return fmt.Sprintf("%s: slot %s is armed with %s; waiting for the reboot", c.Name, cs.Slot, cs.TargetVersion),
			fmt.Errorf("component %s: %w (slot %s armed with %s)", c.Name, ErrNotRebooted, cs.Slot, cs.TargetVersion)
	}
	booted, err := t.Booted(ctx)
	if err != nil {
		return "", fmt.Errorf("component %s: find booted slot: %w", c.Name, err)
	}
	target := cs.TargetVersion
	if booted != cs.Slot {
		reason := fmt.Sprintf("booted slot %s, not %s: the bootloader rolled back %s", booted, cs.Slot, target)
		if a.setOf(c.Name) != nil { // parts flashed before the fallback go back too
			reason = a.failSet(ctx, errors.New(reason)).Error()
		}
		a.abandon(c.Name, cs, reason)
		return reason, fmt.Errorf("component %s: %w: booted slot %s, not %s; %s is on the failed list", c.Name, ErrRolledBack, booted, cs.Slot, target)
	}
	if err := a.setPhase(c.Name, state.Committing, "booted slot "+booted, nil); err != nil {
		return "", err
	}
	if err := a.partsAndHealth(ctx, c); err != nil {
		if errors.As(err, new(*interrupted)) || ctx.Err() != nil {
			return "", fmt.Errorf("component %s %s: %w", c.Name, target, err) // resumed at the next start
		}
		if rerr := t.Rollback(ctx); rerr != nil {
			err = errors.Join(err, fmt.Errorf("rollback: %w", rerr))
		}
		a.abandon(c.Name, cs, err.Error())
		if rerr := a.reboot(ctx, c); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return "", fmt.Errorf("component %s %s: %w", c.Name, target, err)
	}
	if err := t.Commit(ctx); err != nil {
		return "", fmt.Errorf("component %s: commit slot %s: %w", c.Name, booted, err)
	}
	of := transport.Offer{}
	if cs.Offer != nil {
		of = *cs.Offer
	}
	_ = a.setPhase(c.Name, state.Idle, "committed slot "+booted, func(n *state.Component) {
		n.Version, n.TargetVersion, n.FromVersion, n.Offer, n.LastError = target, "", "", nil, ""
		delete(n.Attempts, target)
		a.raise(n, target)
	})
	a.endSet(true)
	a.queue(transport.Report{Component: c.Name, Version: target, FromVersion: cs.FromVersion, Event: transport.EventInstall, OK: true, OfferID: of.ID, Extra: of.Extra})
	return fmt.Sprintf("%s %s committed in slot %s", c.Name, target, booted), nil
}

// partsAndHealth flashes the serial and file parts of c's update (if its
// package had any), then runs the health checks; on a failure the parts
// already changed are put back and the error names the one that failed.
func (a *Agent) partsAndHealth(ctx context.Context, c *config.Component) error {
	set := a.setOf(c.Name)
	if set != nil && set.Step == state.SetRestoring { // a restart during a restore
		return a.failSet(ctx, errors.New(set.Reason))
	}
	if set != nil {
		if err := a.flashSet(ctx); err != nil {
			return a.failSet(ctx, err)
		}
	}
	if err := a.health(ctx, c); err != nil {
		if ctx.Err() != nil {
			return &interrupted{err}
		}
		err = fmt.Errorf("health check failed: %w", err)
		if set != nil {
			return a.failSet(ctx, err)
		}
		return err
	}
	return nil
}

// abandon marks the pending version failed and queues the failure report.
func (a *Agent) abandon(name string, cs *state.Component, reason string) {
	target := cs.TargetVersion
	_ = a.setPhase(name, state.Failed, reason, func(n *state.Component) {
		n.MarkFailed(target, reason, time.Now())
		n.LastError, n.TargetVersion, n.Offer = reason, "", nil
	})
	r := transport.Report{Component: name, Version: target, FromVersion: cs.FromVersion, Event: transport.EventInstall, OK: false, Reason: reason}
	if cs.Offer != nil {
		r.OfferID, r.Extra = cs.Offer.ID, cs.Offer.Extra
	}
	a.queue(r)
}

// health runs the ab.health commands in order; the first failure fails.
func (a *Agent) health(ctx context.Context, c *config.Component) error {
	for _, cmd := range c.AB.Health {
		if len(cmd) == 0 {
			continue
		}
		cmd = a.expand(cmd)
		hctx, cancel := context.WithTimeout(ctx, healthTimeout)
		out, err := exec.CommandContext(hctx, cmd[0], cmd[1:]...).CombinedOutput()
		cancel()
		if err != nil {
			return fmt.Errorf("health command %q: %w: %s", strings.Join(cmd, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// expand replaces {NAME.port}, {NAME.baud} and {NAME.version} in a health
// command with component NAME's port, baud rate and version in state, so
// that a check can query the MCU flashed with the new slot.
func (a *Agent) expand(cmd []string) []string {
	st := a.snapshot()
	var pairs []string
	for j := range a.cfg.Components {
		c := &a.cfg.Components[j]
		v, _ := CurrentVersion(context.Background(), c, st)
		pairs = append(pairs, "{"+c.Name+".port}", c.Port, "{"+c.Name+".baud}", fmt.Sprint(c.Baud), "{"+c.Name+".version}", v)
	}
	r := strings.NewReplacer(pairs...)
	out := make([]string, len(cmd))
	for i, arg := range cmd {
		out[i] = r.Replace(arg)
	}
	return out
}

// Commit resolves pending A/B installs by hand (`ota-agent commit`).
func (a *Agent) Commit(ctx context.Context) (string, error) {
	if !a.pending() {
		return "", errors.New("no A/B install is waiting for commit (no component in phase rebooting)")
	}
	if !a.op.TryLock() {
		return "", ErrBusy
	}
	defer a.op.Unlock()
	return a.resolvePending(ctx)
}

// Rollback abandons pending A/B installs (`ota-agent rollback`): the other
// slot boots next, the version goes on the failed list and is reported.
func (a *Agent) Rollback(ctx context.Context) (string, error) {
	if !a.pending() {
		return "", errors.New("no A/B install to roll back (no component in phase rebooting or committing)")
	}
	if !a.op.TryLock() {
		return "", ErrBusy
	}
	defer a.op.Unlock()
	var msgs []string
	for i := range a.cfg.Components {
		c := &a.cfg.Components[i]
		cs := a.snapshot().Components[c.Name]
		if c.Type != config.KindAB || cs == nil || !armed(cs.Phase) {
			continue
		}
		if err := a.o.Targets.AB[c.Name].Rollback(ctx); err != nil {
			return strings.Join(msgs, "; "), fmt.Errorf("component %s: %w", c.Name, err)
		}
		a.abandon(c.Name, cs, "rolled back by operator")
		msgs = append(msgs, fmt.Sprintf("%s %s rolled back; reboot to return to the previous slot", c.Name, cs.TargetVersion))
	}
	return strings.Join(msgs, "; "), nil
}

func (a *Agent) pending() bool {
	for _, cs := range a.snapshot().Components {
		if armed(cs.Phase) {
			return true
		}
	}
	return false
}

// parts turns the staged parts recorded with a written slot back into
// entries.
func parts(ms []state.Member) []download.Entry {
	var out []download.Entry
	for _, m := range ms {
		out = append(out, download.Entry{Component: m.Component, Version: m.Version, Path: m.Image, Size: m.Size, SHA256: m.SHA256, Manifest: true})
	}
	return out
}

// shuttingDown reports whether the reboot command was killed by SIGTERM or
// SIGKILL: the shutdown it started stops every process, itself included.
func shuttingDown(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && (ws.Signal() == syscall.SIGTERM || ws.Signal() == syscall.SIGKILL)
}
