package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"

	"ota-agent/agent/config"
	"ota-agent/agent/policy"
	"ota-agent/agent/state"
	"ota-agent/platform/memtrim"
	"ota-agent/transport"
	"ota-agent/transport/download"
)

// UpdateOptions select what Update does.
type UpdateOptions struct {
	CheckOptions
	Component string // only this component; "" = all
	// NoResolve skips resolving pending A/B installs first. The daemon
	// resolves once at start (SPEC §5), not on every poll: with an empty
	// ab.reboot the operator reboots later, and the slot booted until then
	// says nothing about the bootloader's verdict.
	NoResolve bool
}

// Outcome is what happened to one install.
type Outcome struct {
	Component string      `json:"component"`
	Version   string      `json:"version"`
	Phase     state.Phase `json:"phase"` // idle (done), rebooting (A/B armed), failed
	Err       error       `json:"-"`
}

// Update resolves a pending A/B install, checks, records the decisions and
// installs what policy allows, then sends queued reports. It returns the
// check and one outcome per install; the error is the first failure.
func (a *Agent) Update(ctx context.Context, o UpdateOptions) (CheckResult, []Outcome, error) {
	if !o.NoResolve {
		if err := a.Resume(ctx); err != nil {
			return CheckResult{}, nil, err
		}
	}
	res, err := a.Check(ctx, o.CheckOptions)
	if err != nil {
		return res, nil, err
	}
	if o.Component != "" && a.cfg.Component(o.Component) == nil {
		return res, nil, fmt.Errorf("--component %s: no such component in %s", o.Component, a.cfg.Path)
	}
	if err := a.record(res); err != nil {
		return res, nil, err
	}
	var outs []Outcome
	var first error
	for i, d := range res.Decisions {
		if d.Action != policy.Install || (o.Component != "" && d.Component != o.Component) {
			continue
		}
		if a.awaitingReboot(d.Component) {
			a.log.Info("install deferred: an armed slot waits for its reboot", "device", d.Component, "version", d.Version)
			continue
		}
		if p := a.pendingSetWith(d.Component); p != "" {
			a.log.Info("install deferred: the component is part of an update of "+p+" that is not finished", "device", d.Component, "version", d.Version)
			continue
		}
		out := a.Install(ctx, res.Offers[i])
		outs = append(outs, out)
		if out.Err != nil && first == nil {
			first = out.Err
		}
		if ctx.Err() != nil {
			break
		}
	}
	a.FlushReports(ctx)
	return res, outs, first
}

// Install installs one offer into its component, persisting each phase
// before acting. A failure counts as an attempt; after policy.max_attempts
// attempts, or at once for a permanent failure (digest mismatch), the
// version goes on the failed list and the failure is reported.
func (a *Agent) Install(ctx context.Context, of transport.Offer) Outcome {
	a.op.Lock()
	defer a.op.Unlock()
	out := Outcome{Component: of.Component, Version: of.Version}
	c := a.cfg.Component(of.Component)
	if c == nil {
		out.Phase, out.Err = state.Failed, fmt.Errorf("install %s %s: no component of that name in %s", of.Component, of.Version, a.cfg.Path)
		return out
	}
	if armed(a.snapshot().Component(c.Name).Phase) {
		out.Phase, out.Err = state.Rebooting, fmt.Errorf("install %s %s: an armed slot waits for its reboot; reboot (or ota-agent rollback) first", c.Name, of.Version)
		return out
	}
	if err := a.settle(ctx, c.Name); err != nil { // a crash left it mid-install: the restart table first
		out.Phase, out.Err = a.snapshot().Component(c.Name).Phase, err
		return out
	}
	cur, _ := CurrentVersion(ctx, c, a.snapshot())
	var attempt int
	err := a.setPhase(c.Name, state.Downloading, "install "+of.Version, func(cs *state.Component) {
		attempt = cs.Attempt(of.Version)
		o := of
		cs.TargetVersion, cs.FromVersion, cs.Offer, cs.LastError = of.Version, cur, &o, ""
		cs.Progress = state.Progress{Total: of.Size}
	})
	if err == nil {
		// Start the long, memory-bound part with what start-up and the check
		// touched given back: the peak of an install is what counts on a
		// board with little RAM.
		_, _ = memtrim.Trim()
		if c.Type == config.KindAB {
			err = a.installAB(ctx, c, &of)
		} else {
			err = a.installImage(ctx, c, &of)
		}
	}
	out.Err, out.Version = err, of.Version // the package may have named the version
	switch {
	case err == nil && c.Type == config.KindAB:
		out.Phase = state.Rebooting
	case errors.As(err, new(*rebootError)):
		// The slot is armed: the install is pending, not failed. The
		// operator reboots; the next start resolves it.
		out.Phase = state.Rebooting
		a.log.Error("slot armed but the reboot command failed; reboot the device by hand", "device", c.Name, "version", of.Version, "err", err)
		_ = a.setPhase(c.Name, state.Rebooting, err.Error(), func(cs *state.Component) { cs.LastError = err.Error() })
	case err == nil:
		out.Phase = state.Idle
		a.finish(c.Name, of, cur)
	case ctx.Err() != nil:
		// Stopped by SIGTERM: the phase stays; the restart table resumes it.
		out.Phase = a.snapshot().Component(c.Name).Phase
	default:
		out.Phase = state.Failed
		a.fail(c.Name, of, cur, attempt, err)
	}
	return out
}

// finish records a successful non-A/B install and queues its report.
func (a *Agent) finish(name string, of transport.Offer, from string) {
	_ = a.setPhase(name, state.Idle, "installed "+of.Version, func(cs *state.Component) {
		cs.Version, cs.TargetVersion, cs.FromVersion, cs.Offer, cs.LastError = of.Version, "", "", nil, ""
		delete(cs.Attempts, of.Version)
		a.raise(cs, of.Version)
	})
	a.cleanDownloads(name)
	a.queue(transport.Report{Component: name, Version: of.Version, FromVersion: from, Event: transport.EventInstall, OK: true, OfferID: of.ID, Extra: of.Extra})
}

// fail records a failed attempt; the version is marked failed when attempts
// are used up or the failure is permanent.
func (a *Agent) fail(name string, of transport.Offer, from string, attempt int, err error) {
	final := attempt >= a.cfg.Policy.MaxAttempts || permanent(err)
	reason := err.Error()
	_ = a.setPhase(name, state.Failed, reason, func(cs *state.Component) {
		cs.LastError = fmt.Sprintf("%s (attempt %d of %d)", reason, attempt, a.cfg.Policy.MaxAttempts)
		if final {
			cs.MarkFailed(of.Version, reason, time.Now())
			cs.Written = nil
		}
	})
	if final {
		a.cleanDownloads(name)
		a.log.Error("install failed; version will not be retried", "device", name, "version", of.Version, "attempt", attempt, "err", err)
		a.queue(transport.Report{Component: name, Version: of.Version, FromVersion: from, Event: eventOf(err), OK: false, Reason: reason, OfferID: of.ID, Extra: of.Extra})
	} else {
		a.log.Warn("install failed; will retry on the next check", "device", name, "version", of.Version, "attempt", attempt, "err", err)
	}
}

// downloadError marks failures of the download step (reported as download events).
type downloadError struct{ err error }

func (e *downloadError) Error() string { return e.err.Error() }
func (e *downloadError) Unwrap() error { return e.err }

func eventOf(err error) transport.Event {
	if errors.As(err, new(*downloadError)) {
		return transport.EventDownload
	}
	return transport.EventInstall
}

// permanent reports whether err will not go away by trying again: a digest
// mismatch (after the second download), a bad package, an image too
// large, or an error marked Permanent.
func permanent(err error) bool {
	if errors.Is(err, download.ErrSlow) || errors.Is(err, download.ErrStall) {
		return false // the link, not the version: the next check resumes
	}
	var pe *backoff.PermanentError
	var p interface{ Permanent() bool }
	return errors.As(err, new(*download.DigestError)) || errors.Is(err, download.ErrPackage) || errors.Is(err, download.ErrImageTooLarge) ||
		errors.As(err, &pe) || (errors.As(err, &p) && p.Permanent())
}

// resolves reports whether the API gives download URLs only on request
// (aliyun's QueryOTAFirmware right before the download), so an offer
// without a URL is expected.
func (a *Agent) resolves() bool {
	_, ok := a.o.API.(transport.URLResolver)
	return ok
}

// request builds the download request of an offer; journal names its file.
func (a *Agent) request(ctx context.Context, of transport.Offer, journal string) download.Request {
	req := download.Request{URL: of.URL, Size: of.Size, SizeIsEstimate: of.SizeIsEstimate, MD5: of.MD5, SHA256: of.SHA256,
		Journal: filepath.Join(a.downloadDir(), journal)}
	// Only the API's own offers (with its id) are resolved; a URL given to
	// `ota-agent install` is used as it is.
	if r, ok := a.o.API.(transport.URLResolver); ok && (of.ID != "" || of.URL == "") {
		req.Resolve = func(ctx context.Context) (string, error) { return r.ResolveURL(ctx, of) }
	}
	return req
}

func (a *Agent) downloadOptions() download.Options {
	d := a.cfg.Download
	retries := d.MaxRetries
	if retries == 0 {
		retries = -1 // download.max_retries = 0 means none; 0 in download.Options means the default
	}
	return download.Options{Client: a.o.HTTP, StallTimeout: d.StallTimeout.Duration, MaxRetries: retries, Budget: d.Budget,
		MinRate: int64(d.MinRate), MinRateWindow: d.MinRateWindow.Duration, TimeBudget: d.TimeBudget.Duration, MaxSize: int64(d.MaxSize),
		Log: a.o.Log}
}

// installImage stages and unpacks the offer, then hands the verified
// image to a file or serial target.
func (a *Agent) installImage(ctx context.Context, c *config.Component, of *transport.Offer) error {
	t := a.o.Targets.Images[c.Name]
	if t == nil {
		return fmt.Errorf("component %s: no target for type %s", c.Name, c.Type)
	}
	var e proved
	err := a.twice(c.Name, of.Version, func() (err error) {
		e, err = a.stageImage(ctx, c, *of)
		return err
	})
	if err != nil {
		return err
	}
	a.adopt(c.Name, of, e.Version)
	if err := a.setPhase(c.Name, state.Installing, fmt.Sprintf("image of %d bytes, proved by the %s", e.Size, e.Proof), func(cs *state.Component) { cs.Proof = e.Proof }); err != nil {
		return err
	}
	// The download is done and proved: the APIs that report it hear it now,
	// before the install's own event (as an A/B install does at arming).
	a.queue(transport.Report{Component: c.Name, Version: of.Version, FromVersion: a.snapshot().Component(c.Name).FromVersion, Event: transport.EventDownload, OK: true, OfferID: of.ID, Extra: of.Extra})
	if len(e.Others) > 0 {
		return a.installSet(ctx, c, of, e)
	}
	kept := a.kept(c)
	if err := a.flash(ctx, c, e.Path, e.Size, of.Version); err != nil {
		return a.putBack(ctx, c, kept, err)
	}
	a.keep(c, e.Path)
	return nil
}

// putBack re-flashes c's kept image after its install failed, so that a
// half-written MCU or module runs the image it ran before.
func (a *Agent) putBack(ctx context.Context, c *config.Component, kept string, failed error) error {
	if kept == "" || ctx.Err() != nil {
		return failed
	}
	from := a.snapshot().Component(c.Name).FromVersion
	st, err := os.Stat(kept)
	if err == nil {
		err = a.flash(ctx, c, kept, st.Size(), from)
	}
	if err != nil {
		return fmt.Errorf("%w; putting back %s failed too: %w", failed, from, err)
	}
	a.log.Warn("install failed; the kept image was put back", "device", c.Name, "version", from)
	return fmt.Errorf("%w; %s %s was put back and verified", failed, c.Name, from)
}

// stage fetches the offer (or writes its inline payload) under the download
// directory and returns the verified package file.
func (a *Agent) stage(ctx context.Context, name string, of transport.Offer) (string, error) {
	if of.Payload != nil {
		return a.stagePayload(name, of)
	}
	if of.URL == "" && !a.resolves() {
		return "", fmt.Errorf("offer %s %s has neither a URL nor inline content", name, of.Version)
	}
	p, _, err := download.Stage(ctx, a.downloadOptions(), a.request(ctx, of, name+".journal"), a.downloadDir(), name, a.progress(name))
	return p, err
}

func imageName(of transport.Offer) string {
	if of.URL != "" {
		if b := path.Base(strings.SplitN(of.URL, "?", 2)[0]); b != "." && b != "/" {
			return b
		}
	}
	return of.Component + "-" + of.Version + ".bin"
}

// cleanDownloads removes what staging and the journals hold for name: a
// version that ends, installed or failed, leaves nothing behind.
func (a *Agent) cleanDownloads(name string) {
	if err := download.Remove(a.downloadDir(), name); err != nil {
		a.log.Warn("cannot remove staged files", "device", name, "err", err)
	}
}

// awaitingReboot reports whether name has an armed A/B install that has not
// been resolved yet; nothing else is installed into it until then.
func (a *Agent) awaitingReboot(name string) bool {
	c := a.snapshot().Components[name]
	return c != nil && armed(c.Phase)
}
