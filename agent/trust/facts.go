package trust

import (
	"fmt"
	"strings"
)

// Facts are what a signature vouches for.
type Facts struct {
	Component string
	Version   string
}

// ParseComment reads the facts from a detached signature's trusted comment:
// space-separated key=value pairs with at least component= and version=
// (e.g. "component=rootfs version=2.0.0"; minisign -t sets it). Other keys
// (such as minisign's own timestamp:) are ignored.
func ParseComment(c string) (Facts, error) {
	var f Facts
	for _, field := range strings.Fields(c) {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			continue
		}
		switch k {
		case "component":
			f.Component = v
		case "version":
			f.Version = v
		}
	}
	if f.Component == "" || f.Version == "" {
		return f, fmt.Errorf("%w: the trusted comment %q does not name the component and version; sign with minisign -t \"component=NAME version=V\"", ErrBadSignature, clip(c))
	}
	return f, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
