package policy

import (
	"fmt"
	"strings"
)

// semver is a loosely parsed semantic version.
type semver struct {
	parts []string // numeric, no leading zeros needed
	pre   []string // pre-release identifiers; nil for a release
}

// parseSemver parses "v1.2.3-rc.1+build", "1.2", "V11.31.32".
func parseSemver(s string) (semver, bool) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "v"), "V")
	s, _, _ = strings.Cut(s, "+")
	core, pre, hasPre := strings.Cut(s, "-")
	var v semver
	for p := range strings.SplitSeq(core, ".") {
		if !isDigits(p) {
			return semver{}, false
		}
		v.parts = append(v.parts, p)
	}
	if hasPre {
		for id := range strings.SplitSeq(pre, ".") {
			if id == "" || !isIdent(id) {
				return semver{}, false
			}
			v.pre = append(v.pre, id)
		}
	}
	return v, true
}

// isIdent reports whether s holds only [0-9A-Za-z-].
func isIdent(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}

// compare orders a and b: missing parts are 0, and a pre-release sorts
// before its release.
func (a semver) compare(b semver) int {
	if c := compareParts(a.parts, b.parts); c != 0 {
		return c
	}
	switch {
	case a.pre == nil && b.pre == nil:
		return 0
	case a.pre == nil:
		return 1
	case b.pre == nil:
		return -1
	}
	return comparePre(a.pre, b.pre)
}

// compareParts orders numeric part lists, padding the shorter with zeros.
func compareParts(a, b []string) int {
	for i := range max(len(a), len(b)) {
		pa, pb := "0", "0"
		if i < len(a) {
			pa = a[i]
		}
		if i < len(b) {
			pb = b[i]
		}
		if c := compareDigits(pa, pb); c != 0 {
			return c
		}
	}
	return 0
}

// comparePre orders pre-release identifiers as semver 2.0 §11 does.
func comparePre(a, b []string) int {
	for i := range min(len(a), len(b)) {
		na, nb := isDigits(a[i]), isDigits(b[i])
		var c int
		switch {
		case na && nb:
			c = compareDigits(a[i], b[i])
		case na:
			c = -1
		case nb:
			c = 1
		default:
			c = strings.Compare(a[i], b[i])
		}
		if c != 0 {
			return c
		}
	}
	return sign(len(a) - len(b))
}

func compareSemver(a, b string) (int, error) {
	sa, ok := parseSemver(a)
	if !ok {
		return 0, fmt.Errorf("%w: %q is not a version like 1.2.3 (scheme semver)", ErrUnorderable, a)
	}
	sb, ok := parseSemver(b)
	if !ok {
		return 0, fmt.Errorf("%w: %q is not a version like 1.2.3 (scheme semver)", ErrUnorderable, b)
	}
	return sa.compare(sb), nil
}
