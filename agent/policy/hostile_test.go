package policy_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"ota-agent/agent/policy"
	"ota-agent/transport"
)

// decideHostile runs Decide on a known component with a forced offer, so
// that only the version check can stop the install.
func decideHostile(o transport.Offer) policy.Decision {
	return policy.Decide(basePolicy(), policy.Input{Offer: o, Known: true, Current: "1.0.0"})
}

func TestHostileVersionControlChars(t *testing.T) {
	tests := []struct {
		name, version, reason, stored string
	}{
		{"ESC and BEL", "1.2\x1b[2J\x1b]0;pwn\x07", `version refused: holds control character \x1b`, `1.2\x1b[2J\x1b]0;pwn\x07`},
		{"newline inside", "1.2\nlevel=ERROR msg=pwned", `version refused: holds control character \n`, `1.2\nlevel=ERROR msg=pwned`},
		{"invalid UTF-8", "1.2\xff", `version refused: holds invalid UTF-8 byte \xff`, `1.2\xff`},
		{"C1 CSI", "1.2\u009b2J", `version refused: holds control character \u009b`, `1.2\u009b2J`},
		{"bidi override", "1.2\u202e", `version refused: holds non-printing character \u202e`, `1.2\u202e`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decideHostile(offer(tt.version, transport.Forced))
			if d.Action != policy.Skip || d.Reason != tt.reason || d.Version != tt.stored {
				t.Errorf("Decide = %+v, want skip, reason %q, version %q", d, tt.reason, tt.stored)
			}
		})
	}
	for _, ok := range []string{"1.2.3", "Brave7_20230823_V3.1.5", "V2.0 系统", "1.0.1\n"} {
		// Printable versions pass rule 0; "1.0.0" and a dated version
		// cannot be ordered, which rule 5 (not rule 0) decides.
		if d := decideHostile(offer(ok, transport.Forced)); strings.Contains(d.Reason, "refused:") {
			t.Errorf("version %q: %+v, want it not refused by rule 0", ok, d)
		}
	}
	o := offer("2.0.0", transport.Forced)
	o.MinVersion = "0.1\x1b[2J"
	if d := decideHostile(o); d.Action != policy.Skip || d.Reason != `min_version refused: holds control character \x1b` {
		t.Errorf("hostile min_version: %+v", d)
	}
	o = offer("2.0.0", transport.Forced)
	o.SrcVersion = strings.Repeat("9", 200)
	if d := decideHostile(o); d.Action != policy.Skip || d.Reason != "src_version refused: 200 characters, the limit is 128" {
		t.Errorf("hostile src_version: %+v", d)
	}
}

func TestHostileVersionTooLong(t *testing.T) {
	long := strings.Repeat("A", 10240)
	d := decideHostile(offer(long, transport.Forced))
	if d.Action != policy.Skip || d.Reason != "version refused: 10240 characters, the limit is 128" {
		t.Errorf("Decide = %s %q, want skip with the length reason", d.Action, d.Reason)
	}
	if want := strings.Repeat("A", 127) + "…"; d.Version != want {
		t.Errorf("stored version = %q (%d characters), want 127 A and …", d.Version, utf8.RuneCountInString(d.Version))
	}
	if d := decideHostile(offer(strings.Repeat("9", 128), transport.Forced)); d.Action != policy.Install {
		t.Errorf("128 characters: %+v, want install", d)
	}
	if d := decideHostile(offer(strings.Repeat("系", 129), transport.Forced)); d.Reason != "version refused: 129 characters, the limit is 128" {
		t.Errorf("129 CJK characters: %q", d.Reason)
	}
	if got := policy.CheckVersion(long); got != "10240 characters, the limit is 128" {
		t.Errorf("CheckVersion(long) = %q", got)
	}
	if got := policy.CheckVersion("1.0"); got != "" {
		t.Errorf("CheckVersion(1.0) = %q", got)
	}
}
