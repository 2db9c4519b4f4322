package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrUnorderable is wrapped by Compare's error when two versions cannot be
// ordered under the scheme; the error says why.
var ErrUnorderable = errors.New("versions cannot be ordered")

// ErrUnknownScheme is wrapped by Compare's error for a scheme name it does
// not know (config.Load refuses those).
var ErrUnknownScheme = errors.New("unknown version scheme")

// Schemes lists the version scheme names Compare accepts.
var Schemes = []string{"auto", "semver", "date", "numeric", "opaque"}

// Compare orders a and b under scheme: -1, 0, +1; ErrUnorderable (wrapped,
// saying why) when they cannot be ordered. Both are trimmed first.
// E.g. Compare("semver", "1.2", "1.10") = -1.
func Compare(scheme, a, b string) (int, error) {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if a == b && slices.Contains(Schemes, scheme) {
		return 0, nil // equal strings are equal under every scheme
	}
	switch scheme {
	case "semver":
		return compareSemver(a, b)
	case "date":
		return compareDate(a, b)
	case "numeric":
		return compareNumeric(a, b)
	case "opaque":
		return compareOpaque(a, b)
	case "auto", "":
		return compareAuto(a, b)
	}
	return 0, fmt.Errorf("%w %q (use one of %s)", ErrUnknownScheme, scheme, strings.Join(Schemes, ", "))
}

// Less reports whether a orders before b under scheme; false when they
// cannot be ordered.
func Less(scheme, a, b string) bool {
	c, err := Compare(scheme, a, b)
	return err == nil && c < 0
}

func compareAuto(a, b string) (int, error) {
	if sa, ok := parseSemver(a); ok {
		if sb, ok := parseSemver(b); ok {
			return sa.compare(sb), nil
		}
	}
	if da, ok := parseDate(a); ok {
		if db, ok := parseDate(b); ok {
			return da.compare(db)
		}
	}
	if c, err := compareOpaque(a, b); err == nil {
		return c, nil
	}
	return 0, fmt.Errorf("%w: %q and %q are neither both semver nor both dated (scheme auto)", ErrUnorderable, a, b)
}

func compareOpaque(a, b string) (int, error) {
	if a == b {
		return 0, nil
	}
	return 0, fmt.Errorf("%w: %q and %q differ and scheme opaque only tells equal from different", ErrUnorderable, a, b)
}

func compareNumeric(a, b string) (int, error) {
	for _, s := range []string{a, b} {
		if !isDigits(s) {
			return 0, fmt.Errorf("%w: %q is not a non-negative integer (scheme numeric)", ErrUnorderable, s)
		}
	}
	return compareDigits(a, b), nil
}

// isDigits reports whether s is one or more ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// compareDigits orders two digit strings of any length numerically.
func compareDigits(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return sign(len(a) - len(b))
	}
	return strings.Compare(a, b)
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
