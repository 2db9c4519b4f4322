package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"ota-agent/agent/config"
	"ota-agent/agent/state"
	"ota-agent/flasher"
	"ota-agent/platform/atomicfile"
	"ota-agent/transport"
	"ota-agent/transport/download"
)

// One update, one verdict (SPEC §12). A package whose manifest lists
// several components of this device is one update, in this order:
//
//  1. every image is downloaded and verified: the A/B image straight into
//     the inactive slot (read back), the serial and file images staged;
//  2. with an A/B part: the slot is armed and the device reboots; the
//     serial and file parts are flashed once the new slot has booted,
//     before its health checks (which can then talk to the new MCU), and
//     the slot is committed last. Without one, the parts are flashed in
//     manifest order.
//  3. when a part fails (its flash or device verify, the health checks, or
//     the bootloader falling back), every part already changed is put back
//     in reverse order from its kept image (the image installed before),
//     each restore verified like an install, and the A/B slot is abandoned;
//     one failure report names the part that failed.
//
// Every step is persisted in state.Set; a restart resumes a restore, and an
// interrupted flashing of a set without an A/B part is rolled back.

// keptPath is where name's last good image is kept.
func (a *Agent) keptPath(name string) string { return keptPath(a.o.Store.Dir(), name) }

// keptPath is where component name's last good image is kept in stateDir.
func keptPath(stateDir, name string) string { return filepath.Join(stateDir, "kept", name+".img") }

// keep makes img the last good image of c, when c keeps one and it fits
// download.keep_max with the other kept images.
func (a *Agent) keep(c *config.Component, img string) {
	if !c.Restorable() {
		return
	}
	st, err := os.Stat(img)
	if err != nil {
		return
	}
	if used := a.keptBytes(c.Name); used+st.Size() > int64(a.cfg.Download.KeepMax) {
		a.log.Warn("last good image not kept: download.keep_max reached; this component cannot be rolled back", "device", c.Name, "bytes", st.Size(), "kept", used)
		_ = os.Remove(a.keptPath(c.Name))
		return
	}
	if err := copyFile(img, a.keptPath(c.Name)); err != nil {
		a.log.Warn("last good image not kept", "device", c.Name, "err", err)
	}
}

// keptBytes is the space the kept images of components other than name take.
func (a *Agent) keptBytes(name string) int64 {
	var n int64
	ents, _ := os.ReadDir(filepath.Dir(a.keptPath(name)))
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && e.Name() != name+".img" {
			n += fi.Size()
		}
	}
	return n
}

// kept returns name's kept image, or "" when none is kept. A file
// component without one keeps its current content first.
func (a *Agent) kept(c *config.Component) string {
	p := a.keptPath(c.Name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	if c.Type == config.KindFile && c.Restorable() {
		if _, err := os.Stat(c.Path); err == nil {
			a.keep(c, c.Path)
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	return ""
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFile(to, b, 0o600)
}

// flash writes the image at path into c's target, which verifies it.
func (a *Agent) flash(ctx context.Context, c *config.Component, path string, size int64, version string) error {
	t := a.o.Targets.Images[c.Name]
	if t == nil {
		return fmt.Errorf("component %s: no target for type %s", c.Name, c.Type)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open image %s: %w", path, err)
	}
	defer f.Close()
	img := flasher.Image{R: f, Size: size, Name: filepath.Base(path), Version: version}
	if err := t.Install(ctx, img, a.progress(c.Name)); err != nil {
		return fmt.Errorf("install %s %s (%s): %w", c.Name, version, c.Type, err)
	}
	return nil
}

// newSet records the other parts of the package installed into primary.
func (a *Agent) newSet(ctx context.Context, primary string, of transport.Offer, others []download.Entry, step state.SetStep) error {
	set := &state.Set{Primary: primary, Offer: of, Step: step}
	for _, e := range others {
		c := a.cfg.Component(e.Component)
		from, _ := CurrentVersion(ctx, c, a.snapshot())
		set.Members = append(set.Members, state.Member{Component: e.Component, Version: e.Version, FromVersion: from,
			Image: e.Path, Size: e.Size, SHA256: e.SHA256, Kept: a.kept(c)})
	}
	a.log.Info("package updates several components as one", "device", primary, "version", of.Version, "parts", len(set.Members)+1)
	return a.mutate(func(st *state.State) { st.Set = set })
}

// setOf returns the set whose primary is name, or nil.
func (a *Agent) setOf(name string) *state.Set {
	if s := a.snapshot().Set; s != nil && s.Primary == name {
		return s
	}
	return nil
}

// member changes member i of the set and persists it.
func (a *Agent) member(i int, f func(m *state.Member)) error {
	return a.mutate(func(st *state.State) { f(&st.Set.Members[i]) })
}

// flashSet flashes every part not flashed yet, persisting each step; the
// first failure stops it and is returned, naming the part.
func (a *Agent) flashSet(ctx context.Context) error {
	if err := a.mutate(func(st *state.State) { st.Set.Step = state.SetFlashing }); err != nil {
		return err
	}
	for i, m := range a.snapshot().Set.Members {
		if m.Flashed && a.versionOf(m.Component) == m.Version {
			continue
		}
		if err := a.member(i, func(m *state.Member) { m.Flashed = true }); err != nil {
			return err
		}
		c := a.cfg.Component(m.Component)
		a.log.Info("flashing a part of the update", "device", m.Component, "version", m.Version)
		if err := a.flash(ctx, c, m.Image, m.Size, m.Version); err != nil {
			return &partError{m.Component, m.Version, err}
		}
		if err := a.setVersion(m.Component, m.Version); err != nil {
			return err
		}
	}
	return nil
}

// partError is the failure of one part of a set.
type partError struct {
	component, version string
	err                error
}

func (e *partError) Error() string { return fmt.Sprintf("%s %s: %v", e.component, e.version, e.err) }
func (e *partError) Unwrap() error { return e.err }

// versionOf is the version state records for name.
func (a *Agent) versionOf(name string) string {
	return a.snapshot().Component(name).Version
}

func (a *Agent) setVersion(name, v string) error {
	return a.mutate(func(st *state.State) { st.Component(name).Version = v })
}

// restoreSet puts back, in reverse order, every part flashed in this set
// from its kept image, verifying each as an install. It returns what it
// did for the report and the parts that could not be put back.
func (a *Agent) restoreSet(ctx context.Context, failed error) (string, error) {
	err := a.mutate(func(st *state.State) {
		st.Set.Step = state.SetRestoring
		if st.Set.Reason == "" && failed != nil {
			st.Set.Reason = failed.Error()
			var pe *partError
			if errors.As(failed, &pe) {
				st.Set.Failed = pe.component
			}
		}
	})
	if err != nil {
		return "", err
	}
	set := a.snapshot().Set
	var done []string
	var errs []error
	for i := len(set.Members) - 1; i >= 0; i-- {
		m := set.Members[i]
		if !m.Flashed || m.Restored {
			continue
		}
		if err := a.restore(ctx, i, m); err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, m.Component+" "+m.FromVersion)
	}
	msg := "restored " + strings.Join(done, ", ")
	if len(done) == 0 {
		msg = "nothing to restore"
	}
	return msg, errors.Join(errs...)
}

// restore re-flashes part i's kept image.
func (a *Agent) restore(ctx context.Context, i int, m state.Member) error {
	c := a.cfg.Component(m.Component)
	if m.Kept == "" {
		return fmt.Errorf("%s cannot be put back: no kept image (rollback = false, download.keep_max, or its first install by this agent)", m.Component)
	}
	st, err := os.Stat(m.Kept)
	if err != nil {
		return fmt.Errorf("%s cannot be put back: kept image: %w", m.Component, err)
	}
	a.log.Warn("putting a part back to its kept image", "device", m.Component, "version", m.FromVersion)
	if err := a.flash(ctx, c, m.Kept, st.Size(), m.FromVersion); err != nil {
		return fmt.Errorf("%s could not be put back to %s: %w", m.Component, m.FromVersion, err)
	}
	if err := a.setVersion(m.Component, m.FromVersion); err != nil {
		return err
	}
	return a.member(i, func(m *state.Member) { m.Restored = true })
}

// endSet ends the set: on success the parts' kept images become the new
// ones; either way staged images go and the set is cleared.
func (a *Agent) endSet(ok bool) {
	set := a.snapshot().Set
	if set == nil {
		return
	}
	for _, m := range set.Members {
		c := a.cfg.Component(m.Component)
		if ok && c != nil {
			a.keep(c, m.Image)
			_ = a.mutate(func(st *state.State) {
				cs := st.Component(m.Component)
				cs.Version, cs.Proof = m.Version, "sha256 in manifest.json of "+set.Primary+" "+set.Offer.Version
				a.raise(cs, m.Version)
			})
		}
		a.cleanDownloads(m.Component)
	}
	_ = a.mutate(func(st *state.State) { st.Set = nil })
}

// failSet restores after failed and returns the one error of the update,
// naming the part that failed and what was put back.
func (a *Agent) failSet(ctx context.Context, failed error) error {
	if ctx.Err() != nil { // stopped: the set stays as persisted; the next start goes on
		return &interrupted{failed}
	}
	msg, rerr := a.restoreSet(ctx, failed)
	if ctx.Err() != nil {
		return &interrupted{fmt.Errorf("%w; stopped while restoring", failed)}
	}
	err := fmt.Errorf("%w; %s", failed, msg)
	if rerr != nil {
		err = fmt.Errorf("%w; NOT restored: %w", err, rerr)
	}
	a.endSet(false)
	return err
}

// installSet flashes a set without an A/B part, all or nothing.
func (a *Agent) installSet(ctx context.Context, c *config.Component, of *transport.Offer, primary proved) error {
	all := append([]download.Entry{primary.Entry}, primary.Others...)
	all[0].Version = of.Version
	if err := a.newSet(ctx, c.Name, *of, all, state.SetFlashing); err != nil {
		return err
	}
	if err := a.flashSet(ctx); err != nil {
		return a.failSet(ctx, err)
	}
	a.endSet(true)
	return nil
}

// resumeSet finishes a set interrupted outside an A/B boot: a restore goes
// on; an interrupted flashing is rolled back (what was flashed is put back)
// and the version counts an attempt.
func (a *Agent) resumeSet(ctx context.Context) error {
	set := a.snapshot().Set
	if set == nil || armed(a.snapshot().Component(set.Primary).Phase) {
		return nil
	}
	why := errors.New("interrupted while updating " + set.Primary + " " + set.Offer.Version + " and its parts")
	err := a.failSet(ctx, why)
	a.log.Warn("interrupted multi-component update rolled back", "device", set.Primary, "err", err)
	return nil
}

// interrupted is a set stopped by its context (SIGTERM, or a test's kill):
// nothing is decided; the persisted step is resumed at the next start.
type interrupted struct{ err error }

func (e *interrupted) Error() string { return "interrupted: " + e.err.Error() }
func (e *interrupted) Unwrap() error { return e.err }

// pendingSetWith returns the primary of an unfinished set that updates
// name as one of its parts, or "": nothing else may install into it until
// that update has its verdict.
func (a *Agent) pendingSetWith(name string) string {
	set := a.snapshot().Set
	if set == nil {
		return ""
	}
	for _, m := range set.Members {
		if m.Component == name && set.Primary != name {
			return set.Primary
		}
	}
	return ""
}
