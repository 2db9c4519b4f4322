package ubootenv

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrTooLarge means the variables do not fit in the environment's data area.
var ErrTooLarge = errors.New("environment too large for its area")

// ParseData decodes a data area: "name=value\0" entries ended by an empty
// entry. Bytes after the terminator (padding of any kind) are ignored. Later
// duplicates win, as in U-Boot's himport. An entry without '=' or a list
// without its terminator is an error.
func ParseData(area []byte) (map[string]string, error) {
	vars := make(map[string]string)
	for off := 0; ; {
		if off >= len(area) {
			return nil, fmt.Errorf("no terminating empty entry within %d bytes: not an environment or truncated", len(area))
		}
		end := bytes.IndexByte(area[off:], 0)
		if end < 0 {
			return nil, fmt.Errorf("entry at data offset %d runs past the end of the %d-byte area", off, len(area))
		}
		if end == 0 {
			return vars, nil
		}
		entry := string(area[off : off+end])
		name, value, ok := strings.Cut(entry, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("entry at data offset %d is %q, want name=value", off, clip(entry))
		}
		vars[name] = value
		off += end + 1
	}
}

// EncodeData encodes vars sorted by name into an area of size bytes, padded
// with pad. It fails for a name that is empty or holds '=' or NUL, a value
// holding NUL, or vars that do not fit (ErrTooLarge).
func EncodeData(vars map[string]string, size int, pad byte) ([]byte, error) {
	names := make([]string, 0, len(vars))
	for n, v := range vars {
		if err := checkVar(n, v); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	slices.Sort(names)
	area := make([]byte, 0, size)
	for _, n := range names {
		area = append(area, n...)
		area = append(area, '=')
		area = append(area, vars[n]...)
		area = append(area, 0)
	}
	area = append(area, 0)
	if len(area) > size {
		return nil, fmt.Errorf("%w: need %d bytes, the data area holds %d", ErrTooLarge, len(area), size)
	}
	for len(area) < size {
		area = append(area, pad)
	}
	return area, nil
}

func checkVar(name, value string) error {
	switch {
	case name == "":
		return errors.New("variable with an empty name")
	case strings.ContainsAny(name, "=\x00"):
		return fmt.Errorf("variable name %q holds '=' or NUL", clip(name))
	case strings.IndexByte(value, 0) >= 0:
		return fmt.Errorf("value of %q holds a NUL byte", clip(name))
	}
	return nil
}

// clip shortens s for error messages.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
