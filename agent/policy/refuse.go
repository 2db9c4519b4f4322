package policy

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"ota-agent/agent/config"
	"ota-agent/platform/printable"
)

// MaxVersionLen is the longest version, in characters, that the agent takes
// from an offer or from `install --version`.
const MaxVersionLen = 128

// CheckVersion returns why v cannot be used as a version, or "" when it can:
// longer than MaxVersionLen characters, or holding a control character, a
// non-printing character or invalid UTF-8 (quoted escaped, e.g. `\x1b`).
func CheckVersion(v string) string {
	if n := utf8.RuneCountInString(v); n > MaxVersionLen {
		return fmt.Sprintf("%d characters, the limit is %d", n, MaxVersionLen)
	}
	if c := printable.First(v); c != "" {
		return fmt.Sprintf("holds %s %s", printable.Kind(v), c)
	}
	return ""
}

// Rule 0: a version (or min_version, src_version) that is too long or not
// printable is refused before anything else looks at it.
func wellFormed(_ config.Policy, in Input, v, _ string) (Action, string) {
	for _, f := range []struct{ name, v string }{
		{"version", v},
		{"min_version", strings.TrimSpace(in.Offer.MinVersion)},
		{"src_version", strings.TrimSpace(in.Offer.SrcVersion)},
	} {
		if why := CheckVersion(f.v); why != "" {
			return Skip, f.name + " refused: " + why
		}
	}
	return "", ""
}
