package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"ota-agent/agent/config"
	"ota-agent/agent/policy"
	"ota-agent/agent/state"
	"ota-agent/agent/trust"
	"ota-agent/transport"
	"ota-agent/transport/download"
)

// Signatures (SPEC §11). With keys in [security], an install is proved by a
// minisign signature: manifest.json.minisig in a zip (checked before the
// first image byte is written), or a detached signature over the package,
// fetched from its URL plus security.signature_suffix or given by hand
// (checked before the image is armed or flashed). The signed component and
// version win over the API's; a signed version older than the highest one
// installed is refused unless policy.allow_downgrade.

// trustError is a refusal on signature grounds; it is final.
type trustError struct{ err error }

func (e *trustError) Error() string   { return e.err.Error() }
func (e *trustError) Unwrap() error   { return e.err }
func (e *trustError) Permanent() bool { return true }

func refuse(format string, args ...any) error { return &trustError{fmt.Errorf(format, args...)} }

// signing is the signature check of one install.
type signing struct {
	a        *Agent
	c        *config.Component
	of       transport.Offer
	detached []byte // the package's detached signature; nil: none
	carrier  string // where detached came from
	digest   *trust.Digest
	manifest *trust.Verified
	facts    map[string]trust.Facts // from the verified manifest, by component
}

// newSigning prepares the check: it fetches a detached signature when keys
// are configured and none was given by hand.
func (a *Agent) newSigning(ctx context.Context, c *config.Component, of transport.Offer) (*signing, error) {
	s := &signing{a: a, c: c, of: of}
	if a.keys.Len() == 0 {
		if of.Signature != nil {
			return nil, refuse("a signature was given but [security] has no public key to check it with; add security.public_keys")
		}
		return s, nil
	}
	s.detached, s.carrier = of.Signature, "the signature given by hand"
	if s.detached == nil && of.URL != "" {
		var err error
		if s.detached, s.carrier, err = a.fetchSignature(ctx, of.URL); err != nil {
			return nil, err
		}
	}
	if s.detached != nil {
		s.digest = trust.NewDigest()
	}
	return s, nil
}

// plan hooks the check into the unpacking of the package.
func (s *signing) plan(p *download.Plan) {
	if s.a.keys.Len() == 0 {
		return
	}
	if s.digest != nil {
		p.Package = s.digest
	}
	p.VerifyManifest = s.verifyManifest
}

// verifyManifest runs before the first image byte of a zip is written.
func (s *signing) verifyManifest(man, sig []byte) error {
	if sig == nil {
		if s.detached != nil || !s.a.cfg.Security.Required() {
			return nil
		}
		return s.unsigned()
	}
	if man == nil {
		return refuse("%s without %s in the zip", download.ManifestSigName, download.ManifestName)
	}
	v, err := s.a.keys.Verify(man, sig, download.ManifestSigName)
	if err != nil {
		return &trustError{err}
	}
	m, err := download.ParseManifest(man)
	if err != nil {
		return err
	}
	s.manifest, s.facts = &v, map[string]trust.Facts{}
	for _, im := range m.Images {
		s.facts[im.Component] = trust.Facts{Component: im.Component, Version: im.Version}
	}
	return nil
}

func (s *signing) unsigned() error {
	where := "no " + download.ManifestSigName + " in a zip"
	if s.of.URL != "" {
		where += " and no " + signatureURL(s.of.URL, s.a.cfg.Security.SignatureSuffix)
	}
	return refuse("component %s %s: %w (%s); security.require_signature is on: sign the package (see README, Signing) or give --signature FILE",
		s.c.Name, s.of.Version, trust.ErrUnsigned, where)
}

// verdict decides, once the image is unpacked, whether the signature proves
// it. It returns the proof ("" when no key is configured: the digests
// decide) and the signed version.
func (s *signing) verdict() (proof, version string, err error) {
	if s.a.keys.Len() == 0 {
		return "", "", nil
	}
	f, v, err := s.signedFacts()
	if err != nil || v == nil {
		return "", "", err
	}
	if err := s.checkFacts(f); err != nil {
		return "", "", err
	}
	s.a.log.Info("signature verified", "device", s.c.Name, "version", f.Version, "key", v.KeyID, "carrier", v.Carrier)
	return fmt.Sprintf("minisign signature by key %s (%s)", v.KeyID, v.Carrier), f.Version, nil
}

// signedFacts returns what the signature vouches for; v is nil when the
// package is unsigned and no signature is required.
func (s *signing) signedFacts() (trust.Facts, *trust.Verified, error) {
	switch {
	case s.manifest != nil:
		f, ok := s.facts[s.c.Name]
		if !ok {
			return f, nil, refuse("the signed %s lists no image for component %s", download.ManifestName, s.c.Name)
		}
		return f, s.manifest, nil
	case s.detached != nil:
		v, err := s.a.keys.VerifyDigest(s.digest, s.detached, s.carrier)
		if err != nil {
			return trust.Facts{}, nil, &trustError{err}
		}
		f, err := trust.ParseComment(v.TrustedComment)
		if err != nil {
			return f, nil, &trustError{err}
		}
		return f, &v, nil
	case s.a.cfg.Security.Required():
		return trust.Facts{}, nil, s.unsigned()
	}
	return trust.Facts{}, nil, nil
}

// checkFacts holds the signed facts against the offer and the highest
// version installed.
func (s *signing) checkFacts(f trust.Facts) error {
	if f.Component != s.c.Name {
		return refuse("the signature is for component %q, not %s: a signed image cannot be replayed into another component", f.Component, s.c.Name)
	}
	if !manual(s.of) && f.Version != s.of.Version {
		return refuse("component %s: the offer says version %q, the signature says %q; refusing (a signed old release replayed under a new version?)", s.c.Name, s.of.Version, f.Version)
	}
	hi := s.a.snapshot().Component(s.c.Name).Highest
	if hi == "" || s.a.cfg.Policy.AllowDowngrade {
		return nil
	}
	if cmp, err := policy.Compare(s.a.cfg.Policy.VersionScheme, f.Version, hi); err == nil && cmp < 0 {
		return refuse("component %s: signed version %s is older than %s, the highest installed; refusing a rollback (set policy.allow_downgrade = true to allow it)", s.c.Name, f.Version, hi)
	}
	return nil
}

// fetchSignature fetches the detached signature of the package at u. A
// 404 (or 403, as S3 answers for a missing key) means there is none.
func (a *Agent) fetchSignature(ctx context.Context, u string) ([]byte, string, error) {
	su := signatureURL(u, a.cfg.Security.SignatureSuffix)
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Server.Timeout.Duration+5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, su, nil)
	if err != nil {
		return nil, "", fmt.Errorf("signature url %s: %w", download.Redact(su), err)
	}
	resp, err := a.o.HTTP.Do(req)
	if err != nil {
		return nil, "", &downloadError{fmt.Errorf("fetch signature %s: %w", download.Redact(su), err)}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusForbidden:
		return nil, "", nil
	case resp.StatusCode != http.StatusOK:
		return nil, "", &downloadError{fmt.Errorf("fetch signature %s: HTTP %d", download.Redact(su), resp.StatusCode)}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, trust.MaxSignature+1))
	if err != nil {
		return nil, "", &downloadError{fmt.Errorf("fetch signature %s: %w", download.Redact(su), err)}
	}
	return b, download.Redact(su), nil
}

// signatureURL is the package URL with suffix added to its path (before a
// query string).
func signatureURL(u, suffix string) string {
	base, query, ok := strings.Cut(u, "?")
	if !ok {
		return u + suffix
	}
	return base + suffix + "?" + query
}

// manual reports whether the offer's version was not given (`install`
// without --version): the package's signed or manifest version is used.
func manual(of transport.Offer) bool { return of.VersionFromPackage }

// adopt takes the version the package gives for an install whose version
// was not given, in the offer and in the state.
func (a *Agent) adopt(name string, of *transport.Offer, version string) {
	if !of.VersionFromPackage || version == "" || version == of.Version {
		return
	}
	of.Version = version
	_ = a.mutate(func(st *state.State) {
		cs := st.Component(name)
		cs.TargetVersion = version
		if cs.Offer != nil {
			cs.Offer.Version = version
		}
	})
}

// isTrust reports a refusal on signature grounds.
func isTrust(err error) bool { return errors.As(err, new(*trustError)) }

// raise records v as cs's highest version installed when it is higher (or
// the first), under the version scheme.
func (a *Agent) raise(cs *state.Component, v string) {
	if cs.Highest == "" {
		cs.Highest = v
		return
	}
	if cmp, err := policy.Compare(a.cfg.Policy.VersionScheme, v, cs.Highest); err == nil && cmp > 0 {
		cs.Highest = v
	}
}
