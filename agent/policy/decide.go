package policy

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"ota-agent/agent/config"
	"ota-agent/platform/printable"
	"ota-agent/transport"
)

// Action is what the agent does with an offer. Persisted values; never rename.
type Action string

const (
	Install Action = "install" // install now
	Hold    Action = "hold"    // keep the offer; decide again later (window, approval)
	Skip    Action = "skip"    // do not install this offer
)

// String returns the persisted value.
func (a Action) String() string { return string(a) }

// Decision is the verdict for one offer, kept in state and shown by check
// and status.
type Decision struct {
	Component string `json:"component"`
	Version   string `json:"version"`
	Action    Action `json:"action"`
	Reason    string `json:"reason"`
}

// Input is everything Decide needs to know about one offer.
type Input struct {
	Offer     transport.Offer
	Known     bool      // a component of that name is configured
	Current   string    // its current version
	Failed    []string  // versions on its failed list
	Force     bool      // update --force: ignore the failed list
	Approved  bool      // `ota-agent approve` (or update --yes) was given for this offer
	HeldSince time.Time // when this offer was first held; zero if never
	Now       time.Time // local time, for window and prompt_timeout
}

// Decide applies the rules of SPEC §3 in order, after refusing a version
// that is too long or not printable (CheckVersion); the first rule that
// fires decides. The decision's component, version and reason are safe to
// print and store: escaped (printable) and clipped to MaxVersionLen. It never fails: an offer it cannot judge is skipped, with the
// reason. Decide is pure and safe for concurrent use.
func Decide(p config.Policy, in Input) Decision {
	o := in.Offer
	v := strings.TrimSpace(o.Version)
	d := Decision{Component: printable.Clip(o.Component, MaxVersionLen), Version: printable.Clip(v, MaxVersionLen)}
	d.Action, d.Reason = decide(p, in, v, strings.TrimSpace(in.Current))
	d.Reason = printable.String(d.Reason) // it may quote the offer or the device
	return d
}

// rule is one step of SPEC §3: it fires when it returns a non-empty reason.
type rule func(p config.Policy, in Input, v, cur string) (Action, string)

var rules = []rule{wellFormed, refused, known, same, failed, minVersion, downgrade, delta, upgradeType}

func decide(p config.Policy, in Input, v, cur string) (Action, string) {
	for _, r := range rules {
		if a, why := r(p, in, v, cur); why != "" {
			return a, why
		}
	}
	return Skip, "no rule applies" // unreachable: upgradeType always decides
}

// Rule 0b: the API client turned the package down before policy (its
// status, module, sign method, …); Offer.Refused says why.
func refused(_ config.Policy, in Input, _, _ string) (Action, string) {
	if why := strings.TrimSpace(in.Offer.Refused); why != "" {
		return Skip, "turned down by the API client: " + why
	}
	return "", ""
}

// Rule 1: no component of that name.
func known(_ config.Policy, in Input, _, _ string) (Action, string) {
	if in.Known {
		return "", ""
	}
	return Skip, fmt.Sprintf("no component named %s is configured", quoteName(in.Offer.Component))
}

// Rule 2: the version equals the current one (as strings, or equal under
// the scheme, e.g. "1.0" and "1.0.0").
func same(p config.Policy, _ Input, v, cur string) (Action, string) {
	if c, err := Compare(p.VersionScheme, v, cur); v == cur || (err == nil && c == 0) {
		return Skip, fmt.Sprintf("already at version %s", cur)
	}
	return "", ""
}

// Rule 3: the version failed before (verify, flash or rollback).
func failed(_ config.Policy, in Input, v, _ string) (Action, string) {
	if in.Force || !slices.ContainsFunc(in.Failed, func(f string) bool { return strings.TrimSpace(f) == v }) {
		return "", ""
	}
	return Skip, fmt.Sprintf("version %s failed before (failed verify, flash or rolled back); use update --force to retry", v)
}

// Rule 4: the current version is below the offer's minimum.
func minVersion(p config.Policy, in Input, _, cur string) (Action, string) {
	m := strings.TrimSpace(in.Offer.MinVersion)
	if m == "" {
		return "", ""
	}
	c, err := Compare(p.VersionScheme, cur, m)
	switch {
	case err != nil:
		return Skip, fmt.Sprintf("requires at least %s, have %s, and these cannot be ordered: %v", m, quoteEmpty(cur), cause(err))
	case c < 0:
		return Skip, fmt.Sprintf("requires at least %s, have %s", m, cur)
	}
	return "", ""
}

// Rule 5: a downgrade without allow_downgrade. An offer that cannot be
// ordered against the current version is not known to be newer: it is
// skipped, or held for ota-agent approve when policy.unorderable is "hold"
// (never installed silently). An unknown current version (a component
// never installed, with neither version nor version_command) orders
// nothing and passes.
func downgrade(p config.Policy, in Input, v, cur string) (Action, string) {
	if p.AllowDowngrade || cur == "" {
		return "", ""
	}
	c, err := Compare(p.VersionScheme, v, cur)
	switch {
	case err != nil:
		return unorderable(p, in, cur, err)
	case c < 0:
		return Skip, fmt.Sprintf("older than current %s and allow_downgrade is false", cur)
	}
	return "", ""
}

// unorderable decides an offer Compare cannot order against cur.
func unorderable(p config.Policy, in Input, cur string, err error) (Action, string) {
	scheme := p.VersionScheme
	if scheme == "" {
		scheme = "auto"
	}
	why := fmt.Sprintf("cannot tell whether it is newer than current %s under version_scheme %s: %s", cur, scheme, cause(err))
	if p.Unorderable != "hold" {
		return Skip, why + "; set policy.allow_downgrade = true to install anyway, or policy.unorderable = \"hold\" to approve by hand"
	}
	if in.Approved {
		return "", "" // approved by hand: the remaining rules decide
	}
	return Hold, why + "; waiting for ota-agent approve (policy.unorderable is hold)"
}

// Rule 6: a delta package built against another version.
func delta(_ config.Policy, in Input, _, cur string) (Action, string) {
	src := strings.TrimSpace(in.Offer.SrcVersion)
	if src == "" || src == cur {
		return "", ""
	}
	return Skip, fmt.Sprintf("delta from %s but current is %s", src, quoteEmpty(cur))
}

// Rule 7: the upgrade type, with window and prompt handling.
func upgradeType(p config.Policy, in Input, _, _ string) (Action, string) {
	t := in.Offer.UpgradeType
	if t == transport.Default {
		t = transport.UpgradeType(p.DefaultUpgradeType)
		if t == transport.Default {
			t = transport.Silent
		}
	}
	switch t {
	case transport.Forced:
		return Install, "forced: install now"
	case transport.Silent:
		if !p.Window.Contains(in.Now) {
			return Hold, fmt.Sprintf("silent: outside window %s", p.Window)
		}
		if p.Window.IsZero() {
			return Install, "silent: install now"
		}
		return Install, fmt.Sprintf("silent: inside window %s", p.Window)
	case transport.Prompt:
		return prompt(p, in)
	}
	return Skip, fmt.Sprintf("unknown upgrade type %q (want prompt, silent or forced)", t)
}

func prompt(p config.Policy, in Input) (Action, string) {
	switch p.Prompt {
	case "apply":
		return Install, "prompt: policy.prompt is apply"
	case "skip":
		return Skip, "prompt: policy.prompt is skip"
	case "hold", "":
	default:
		return Skip, fmt.Sprintf("prompt: unknown policy.prompt %q (want hold, apply or skip)", p.Prompt)
	}
	if in.Approved {
		return Install, "prompt: approved"
	}
	timeout := p.PromptTimeout.Duration
	if timeout <= 0 {
		return Hold, "prompt: waiting for ota-agent approve"
	}
	if !in.HeldSince.IsZero() && in.Now.Sub(in.HeldSince) >= timeout {
		return Install, fmt.Sprintf("prompt: not approved within prompt_timeout %s, applying", timeout)
	}
	since := in.HeldSince
	if since.IsZero() {
		since = in.Now
	}
	return Hold, fmt.Sprintf("prompt: waiting for ota-agent approve, or until %s (prompt_timeout %s)", since.Add(timeout).Format("2006-01-02 15:04"), timeout)
}

// quoteName quotes a name from an offer, Go style, clipped when long.
func quoteName(s string) string {
	if utf8.RuneCountInString(s) > MaxVersionLen {
		return `"` + printable.Clip(s, MaxVersionLen) + `"`
	}
	return strconv.Quote(s)
}

func quoteEmpty(s string) string {
	if s == "" {
		return `"" (unknown)`
	}
	return s
}

// cause returns the explanation after ErrUnorderable's own text.
func cause(err error) string {
	s := err.Error()
	if errors.Is(err, ErrUnorderable) {
		s = strings.TrimPrefix(s, ErrUnorderable.Error()+": ")
	}
	return s
}
