package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"ota-agent/agent/config"
	"ota-agent/agent/state"
	"ota-agent/flasher"
	"ota-agent/transport"
	"ota-agent/transport/download"
)

// One verified-artifact pipeline serves every target (SPEC §4):
//
//	package → digest of the package as served (offer md5/sha256)
//	        → unpack while streaming (raw, gz, xz, zst, zip)
//	        → digest of each image as written (manifest sha256)
//	        → read-back (ab) or the target's own verify
//	        → only then arm, flash or replace, and report
//
// An A/B image streams straight into the inactive slot; other targets get
// their image from staging under state_dir/download, named from the
// configured component. A digest mismatch downloads once more from zero
// before the version fails. Nothing is armed or flashed without a digest
// checked, unless download.allow_unverified says so.

// unverifiedError says no digest proved an image; it is final.
type unverifiedError struct{ component, version string }

func (e *unverifiedError) Error() string {
	return fmt.Sprintf("component %s %s: no digest to check the image against (the offer gives no md5 or sha256 and the package has no %s); nothing was flashed or armed. Give a digest (install --sha256 H), or set download.allow_unverified = true to accept unverified images",
		e.component, e.version, download.ManifestName)
}

// Permanent marks the error final: retrying cannot bring a digest.
func (e *unverifiedError) Permanent() bool { return true }

// proved is an unpacked image and what vouches for it.
type proved struct {
	download.Entry
	Proof   string // the signature or digest that proved it
	Version string // the signed or manifest version; "" when the package says none
	// Others are the images of the package's other components, staged and
	// checked against the manifest: one update with this one (SPEC §12).
	Others []download.Entry
}

// prove decides what proves image e of offer of: a signature when keys are
// configured (sig), else a digest, else download.allow_unverified.
func (a *Agent) prove(sig *signing, of transport.Offer, e download.Entry) (proved, error) {
	p := proved{Entry: e, Version: e.Version}
	proof, version, err := sig.verdict()
	if err != nil {
		return p, err
	}
	if proof != "" {
		p.Proof, p.Version = proof, version
		return p, nil
	}
	switch {
	case of.SHA256 != "":
		p.Proof = "sha256 of the package"
	case of.MD5 != "":
		p.Proof = "md5 of the package"
	case e.Manifest:
		p.Proof = "sha256 in " + download.ManifestName
	case of.Payload != nil:
		p.Proof = "content inline in the API answer"
	case a.cfg.Download.AllowUnverified:
		a.log.Warn("installing an image no digest proved (download.allow_unverified = true)", "device", of.Component, "version", of.Version)
		p.Proof = "none (download.allow_unverified)"
	default:
		return p, &unverifiedError{of.Component, of.Version}
	}
	return p, nil
}

// twice runs fetch, and once more from zero after a digest mismatch: a
// corrupted transfer must not put a version on the failed list for good.
func (a *Agent) twice(name, version string, fetch func() error) error {
	err := fetch()
	if !errors.As(err, new(*download.DigestError)) {
		return err
	}
	a.log.Warn("digest mismatch; downloading once more from zero before failing the version", "device", name, "version", version, "err", err)
	_ = download.Remove(a.downloadDir(), name)
	return fetch()
}

// partOfSet reports whether a package installed into primary also updates
// comp: a serial or file component of this device. Another A/B image is
// skipped (only the offer's own component streams into a slot).
func (a *Agent) partOfSet(primary, comp string) bool {
	c := a.cfg.Component(comp)
	return comp != primary && c != nil && c.Type != config.KindAB
}

// known reports whether the device has a component of that name.
func (a *Agent) known(name string) bool { return a.cfg.Component(name) != nil }

// streamIntoSlot downloads the offer into slot, unpacking while it
// streams, and returns the image written and what proved it.
func (a *Agent) streamIntoSlot(ctx context.Context, c *config.Component, of transport.Offer, slot flasher.Slot) (proved, error) {
	sig, err := a.newSigning(ctx, c, of)
	if err != nil {
		return proved{}, err
	}
	others := &download.FileSinks{Dir: a.downloadDir(), Limit: int64(a.cfg.Download.MaxSize), LimitName: "download.max_size"}
	defer others.Close()
	plan := download.Plan{Name: imageName(of), Component: c.Name, Known: a.known,
		Route: func(comp string) (*download.Sink, error) {
			if comp != c.Name {
				if !a.partOfSet(c.Name, comp) {
					return nil, nil
				}
				return others.Open(comp)
			}
			return &download.Sink{W: io.NewOffsetWriter(slot, 0), Limit: slot.Size(), LimitName: "the size of slot " + slot.Name()}, nil
		}}
	sig.plan(&plan)
	st := download.NewStream(slot, plan)
	res, err := download.Fetch(ctx, a.downloadOptions(), a.request(ctx, of, c.Name+".slot-"+slot.Name()+".journal"), st, a.progress(c.Name))
	if err != nil {
		st.Abort()
		var te *trustError
		if errors.As(err, &te) { // refused while unpacking: say that, not how far the download got
			return proved{}, te
		}
		return proved{}, &downloadError{fmt.Errorf("download into slot %s: %w", slot.Name(), err)}
	}
	u, err := st.Finish(res)
	if err == nil {
		err = others.Finish(&u)
	}
	return a.unpacked(sig, c, of, u, err, "into slot "+slot.Name())
}

// unpacked turns the result of unpacking into the proved image of c.
func (a *Agent) unpacked(sig *signing, c *config.Component, of transport.Offer, u download.Unpacked, err error, where string) (proved, error) {
	if err == nil {
		a.logSkipped(c.Name, u)
		var e download.Entry
		if e, err = u.Entry(c.Name); err == nil {
			p, perr := a.prove(sig, of, e)
			for _, o := range u.Entries {
				if o.Component != c.Name {
					p.Others = append(p.Others, o)
				}
			}
			return p, perr
		}
	}
	if isTrust(err) {
		return proved{}, err
	}
	return proved{}, &downloadError{fmt.Errorf("unpack %s %s: %w", imageName(of), where, err)}
}

// stageImage downloads the offer into staging and unpacks the component's
// image next to it; it returns the image and what proved it.
func (a *Agent) stageImage(ctx context.Context, c *config.Component, of transport.Offer) (proved, error) {
	sig, err := a.newSigning(ctx, c, of)
	if err != nil {
		return proved{}, err
	}
	staged, err := a.stage(ctx, c.Name, of)
	if err != nil {
		return proved{}, &downloadError{err}
	}
	if err := a.setPhase(c.Name, state.Verifying, "package digest matched; unpacking", nil); err != nil {
		return proved{}, err
	}
	d := a.cfg.Download
	plan := download.Plan{Name: imageName(of), Component: c.Name, Known: a.known}
	sig.plan(&plan)
	want := func(comp string) bool { return comp == c.Name || a.partOfSet(c.Name, comp) }
	u, err := download.UnpackFile(staged, plan, want, a.downloadDir(), int64(d.MaxSize), "download.max_size")
	if err == nil {
		_ = os.Remove(staged) // the image is out; the package is not needed again
	}
	return a.unpacked(sig, c, of, u, err, "")
}

func (a *Agent) logSkipped(name string, u download.Unpacked) {
	for _, s := range u.Skipped {
		a.log.Info("package image skipped", "device", name, "image", s)
	}
}
