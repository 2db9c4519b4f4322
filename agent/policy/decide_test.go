package policy_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"ota-agent/agent/config"
	"ota-agent/agent/policy"
	"ota-agent/transport"
)

func basePolicy() config.Policy {
	return config.Policy{VersionScheme: "auto", DefaultUpgradeType: "silent", Prompt: "hold", MaxAttempts: 3}
}

func offer(version string, typ transport.UpgradeType) transport.Offer {
	return transport.Offer{Component: "rootfs", Version: version, UpgradeType: typ}
}

var (
	at0300 = time.Date(2024, 5, 1, 3, 0, 0, 0, time.Local)
	at1200 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.Local)
	at2330 = time.Date(2024, 5, 1, 23, 30, 0, 0, time.Local)
)

func window(t *testing.T, s string) config.Window {
	t.Helper()
	w, err := config.ParseWindow(s)
	if err != nil {
		t.Fatalf("ParseWindow(%q): %v", s, err)
	}
	return w
}

func TestDecide(t *testing.T) {
	night := window(t, "02:00-05:00")
	wrap := window(t, "22:00-04:00")
	tests := []struct {
		name   string
		policy func(*config.Policy)
		in     policy.Input
		action policy.Action
		reason string
	}{
		{name: "1 unknown component", in: policy.Input{Offer: offer("2.0.0", transport.Forced), Current: "1.0.0"},
			action: policy.Skip, reason: `no component named "rootfs" is configured`},
		{name: "2 same version", in: policy.Input{Offer: offer("1.0.0\n", transport.Forced), Known: true, Current: "1.0.0"},
			action: policy.Skip, reason: "already at version 1.0.0"},
		{name: "2 same under semver", in: policy.Input{Offer: offer("1.0", transport.Forced), Known: true, Current: "v1.0.0"},
			action: policy.Skip, reason: "already at version v1.0.0"},
		{name: "3 failed before", in: policy.Input{Offer: offer("1.2.0", transport.Forced), Known: true, Current: "1.0.0", Failed: []string{"1.1.0", "1.2.0"}},
			action: policy.Skip, reason: "version 1.2.0 failed before (failed verify, flash or rolled back); use update --force to retry"},
		{name: "3 failed but forced", in: policy.Input{Offer: offer("1.2.0", transport.Forced), Known: true, Current: "1.0.0", Failed: []string{"1.2.0"}, Force: true},
			action: policy.Install, reason: "forced: install now"},
		{name: "4 below min version", in: policy.Input{Offer: withMin(offer("Brave7_20230823_V3.1.5", ""), "Brave7-20211223-V1.0"), Known: true, Current: "Brave7_20200101_V1.0"},
			action: policy.Skip, reason: "requires at least Brave7-20211223-V1.0, have Brave7_20200101_V1.0"},
		{name: "4 min version met", in: policy.Input{Offer: withMin(offer("Brave7_20230823_V3.1.5", ""), "Brave7-20211223-V1.0"), Known: true, Current: "Brave7_20220101_V2.0"},
			action: policy.Install, reason: "silent: install now"},
		{name: "4 min version unorderable", in: policy.Input{Offer: withMin(offer("SnapX_V16.45.48", ""), "SnapX_V16.45.40"), Known: true, Current: "SnapX_V16.45.47"},
			action: policy.Skip, reason: `requires at least SnapX_V16.45.40, have SnapX_V16.45.47, and these cannot be ordered: "SnapX_V16.45.47" and "SnapX_V16.45.40" are neither both semver nor both dated (scheme auto)`},
		{name: "4 min equals current (KeyChain)", in: policy.Input{Offer: withMin(offer("20230301 V2.1", ""), "20230217 V2.0"), Known: true, Current: "20230217 V2.0"},
			action: policy.Install, reason: "silent: install now"},
		{name: "5 downgrade refused", in: policy.Input{Offer: offer("1.9.0", transport.Forced), Known: true, Current: "2.0.0"},
			action: policy.Skip, reason: "older than current 2.0.0 and allow_downgrade is false"},
		{name: "5 downgrade allowed", policy: func(p *config.Policy) { p.AllowDowngrade = true },
			in:     policy.Input{Offer: offer("1.9.0", transport.Forced), Known: true, Current: "2.0.0"},
			action: policy.Install, reason: "forced: install now"},
		{name: "5 opaque versions are not known to be newer", policy: func(p *config.Policy) { p.VersionScheme = "opaque" },
			in:     policy.Input{Offer: offer("b", transport.Forced), Known: true, Current: "a"},
			action: policy.Skip, reason: `cannot tell whether it is newer than current a under version_scheme opaque: "b" and "a" differ and scheme opaque only tells equal from different; set policy.allow_downgrade = true to install anyway, or policy.unorderable = "hold" to approve by hand`},
		{name: "5 opaque with allow_downgrade installs", policy: func(p *config.Policy) { p.VersionScheme = "opaque"; p.AllowDowngrade = true },
			in:     policy.Input{Offer: offer("b", transport.Forced), Known: true, Current: "a"},
			action: policy.Install, reason: "forced: install now"},
		{name: "5 unorderable SnapX (auto)", in: policy.Input{Offer: offer("SnapX_V16.45.47", ""), Known: true, Current: "SnapX_V16.45.48"},
			action: policy.Skip, reason: `cannot tell whether it is newer than current SnapX_V16.45.48 under version_scheme auto: "SnapX_V16.45.47" and "SnapX_V16.45.48" are neither both semver nor both dated (scheme auto); set policy.allow_downgrade = true to install anyway, or policy.unorderable = "hold" to approve by hand`},
		{name: "5 unorderable held", policy: func(p *config.Policy) { p.Unorderable = "hold" },
			in:     policy.Input{Offer: offer("SnapX_V16.45.47", ""), Known: true, Current: "SnapX_V16.45.48"},
			action: policy.Hold, reason: `cannot tell whether it is newer than current SnapX_V16.45.48 under version_scheme auto: "SnapX_V16.45.47" and "SnapX_V16.45.48" are neither both semver nor both dated (scheme auto); waiting for ota-agent approve (policy.unorderable is hold)`},
		{name: "5 unorderable held then approved", policy: func(p *config.Policy) { p.Unorderable = "hold" },
			in:     policy.Input{Offer: offer("SnapX_V16.45.47", ""), Known: true, Current: "SnapX_V16.45.48", Approved: true},
			action: policy.Install, reason: "silent: install now"},
		{name: "5 unknown current passes", in: policy.Input{Offer: offer("SnapX_V16.45.47", ""), Known: true, Current: ""},
			action: policy.Install, reason: "silent: install now"},
		{name: "0b refused by the API client", in: policy.Input{Offer: withRefused(offer("2.0.0", transport.Forced), "status 0 is not in accept_status"), Current: "1.0.0"},
			action: policy.Skip, reason: "turned down by the API client: status 0 is not in accept_status"},
		{name: "6 delta from another version", in: policy.Input{Offer: withSrc(offer("1.2", transport.Forced), "1.0"), Known: true, Current: "1.1"},
			action: policy.Skip, reason: "delta from 1.0 but current is 1.1"},
		{name: "6 delta matches", in: policy.Input{Offer: withSrc(offer("1.2", transport.Forced), "1.1\n"), Known: true, Current: "1.1"},
			action: policy.Install, reason: "forced: install now"},
		{name: "7 forced ignores window", policy: func(p *config.Policy) { p.Window = night },
			in:     policy.Input{Offer: offer("2", transport.Forced), Known: true, Current: "1", Now: at1200},
			action: policy.Install, reason: "forced: install now"},
		{name: "7 silent no window", in: policy.Input{Offer: offer("2", transport.Silent), Known: true, Current: "1", Now: at1200},
			action: policy.Install, reason: "silent: install now"},
		{name: "7 silent inside window", policy: func(p *config.Policy) { p.Window = night },
			in:     policy.Input{Offer: offer("2", transport.Silent), Known: true, Current: "1", Now: at0300},
			action: policy.Install, reason: "silent: inside window 02:00-05:00"},
		{name: "7 silent outside window", policy: func(p *config.Policy) { p.Window = night },
			in:     policy.Input{Offer: offer("2", transport.Silent), Known: true, Current: "1", Now: at1200},
			action: policy.Hold, reason: "silent: outside window 02:00-05:00"},
		{name: "7 silent window wraps midnight, inside", policy: func(p *config.Policy) { p.Window = wrap },
			in:     policy.Input{Offer: offer("2", transport.Silent), Known: true, Current: "1", Now: at2330},
			action: policy.Install, reason: "silent: inside window 22:00-04:00"},
		{name: "7 silent window wraps midnight, outside", policy: func(p *config.Policy) { p.Window = wrap },
			in:     policy.Input{Offer: offer("2", transport.Silent), Known: true, Current: "1", Now: at1200},
			action: policy.Hold, reason: "silent: outside window 22:00-04:00"},
		{name: "7 default type uses default_upgrade_type", policy: func(p *config.Policy) { p.DefaultUpgradeType = "forced"; p.Window = night },
			in:     policy.Input{Offer: offer("2", transport.Default), Known: true, Current: "1", Now: at1200},
			action: policy.Install, reason: "forced: install now"},
		{name: "7 default type prompt", policy: func(p *config.Policy) { p.DefaultUpgradeType = "prompt" },
			in:     policy.Input{Offer: offer("2", transport.Default), Known: true, Current: "1", Now: at1200},
			action: policy.Hold, reason: "prompt: waiting for ota-agent approve"},
		{name: "7 prompt hold", in: policy.Input{Offer: offer("2", transport.Prompt), Known: true, Current: "1", Now: at1200},
			action: policy.Hold, reason: "prompt: waiting for ota-agent approve"},
		{name: "7 prompt approved", in: policy.Input{Offer: offer("2", transport.Prompt), Known: true, Current: "1", Approved: true, Now: at1200},
			action: policy.Install, reason: "prompt: approved"},
		{name: "7 prompt timeout not reached", policy: func(p *config.Policy) { p.PromptTimeout = config.Duration{Duration: 24 * time.Hour} },
			in:     policy.Input{Offer: offer("2", transport.Prompt), Known: true, Current: "1", HeldSince: at0300, Now: at1200},
			action: policy.Hold, reason: "prompt: waiting for ota-agent approve, or until 2024-05-02 03:00 (prompt_timeout 24h0m0s)"},
		{name: "7 prompt first hold with timeout", policy: func(p *config.Policy) { p.PromptTimeout = config.Duration{Duration: time.Hour} },
			in:     policy.Input{Offer: offer("2", transport.Prompt), Known: true, Current: "1", Now: at1200},
			action: policy.Hold, reason: "prompt: waiting for ota-agent approve, or until 2024-05-01 13:00 (prompt_timeout 1h0m0s)"},
		{name: "7 prompt timeout reached", policy: func(p *config.Policy) { p.PromptTimeout = config.Duration{Duration: 9 * time.Hour} },
			in:     policy.Input{Offer: offer("2", transport.Prompt), Known: true, Current: "1", HeldSince: at0300, Now: at1200},
			action: policy.Install, reason: "prompt: not approved within prompt_timeout 9h0m0s, applying"},
		{name: "7 prompt apply", policy: func(p *config.Policy) { p.Prompt = "apply" },
			in:     policy.Input{Offer: offer("2", transport.Prompt), Known: true, Current: "1", Now: at1200},
			action: policy.Install, reason: "prompt: policy.prompt is apply"},
		{name: "7 prompt skip", policy: func(p *config.Policy) { p.Prompt = "skip" },
			in:     policy.Input{Offer: offer("2", transport.Prompt), Known: true, Current: "1", Now: at1200},
			action: policy.Skip, reason: "prompt: policy.prompt is skip"},
		{name: "7 unknown upgrade type", in: policy.Input{Offer: offer("2", "later"), Known: true, Current: "1", Now: at1200},
			action: policy.Skip, reason: `unknown upgrade type "later" (want prompt, silent or forced)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := basePolicy()
			if tt.policy != nil {
				tt.policy(&p)
			}
			got := policy.Decide(p, tt.in)
			want := policy.Decision{Component: "rootfs", Version: strings.TrimSpace(tt.in.Offer.Version), Action: tt.action, Reason: tt.reason}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Decide mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func withMin(o transport.Offer, m string) transport.Offer { o.MinVersion = m; return o }
func withSrc(o transport.Offer, s string) transport.Offer { o.SrcVersion = s; return o }
func withRefused(o transport.Offer, why string) transport.Offer {
	o.Refused = why
	return o
}

// TestUnorderableNeverSilent: an offer that cannot be ordered against the
// current version is never installed under any scheme while
// allow_downgrade is false (issue 16 item 1).
func TestUnorderableNeverSilent(t *testing.T) {
	pairs := [][2]string{
		{"SnapX_V16.45.47", "SnapX_V16.45.48"},
		{"Brave 8_20231107_V9.9.9", "Brave 8_20231107_Vx.2.4"},
	}
	for _, scheme := range policy.Schemes {
		for _, pr := range pairs {
			p := basePolicy()
			p.VersionScheme = scheme
			for _, typ := range []transport.UpgradeType{transport.Default, transport.Silent, transport.Forced} {
				d := policy.Decide(p, policy.Input{Offer: offer(pr[0], typ), Known: true, Current: pr[1], Now: at1200})
				if d.Action != policy.Skip || !strings.Contains(d.Reason, "cannot tell whether it is newer") {
					t.Errorf("scheme %s: Decide(%q over %q, %s) = %s: %s, want skip: cannot tell…", scheme, pr[0], pr[1], typeName(typ), d.Action, d.Reason)
				}
			}
		}
	}
}

func typeName(t transport.UpgradeType) string {
	if t == "" {
		return "default"
	}
	return string(t)
}

// TestDecisionJSON pins the persisted field names and action values.
func TestDecisionJSON(t *testing.T) {
	b, err := json.Marshal(policy.Decision{Component: "mcu", Version: "2", Action: policy.Hold, Reason: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"component":"mcu","version":"2","action":"hold","reason":"r"}`; string(b) != want {
		t.Errorf("json = %s, want %s", b, want)
	}
}
