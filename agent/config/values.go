package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// UnmarshalText implements encoding.TextUnmarshaler: a Go duration string
// such as "6h", "30m" or "1h30m". Negative durations are refused.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration (use e.g. \"6h\", \"30m\", \"45s\")", s)
	}
	if v < 0 {
		return fmt.Errorf("%q is negative (use 0s or more)", s)
	}
	d.Duration = v
	return nil
}

// MarshalText implements encoding.TextMarshaler: the Go duration string
// without zero tails, e.g. "6h", "1h30m", "45s".
func (d Duration) MarshalText() ([]byte, error) {
	s := d.Duration.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return []byte(s), nil
}

// Hex is an unsigned address or offset. In TOML it may be an integer
// (address = 0x08000000) or a string ("0x08000000", "134217728"); it is
// written back as a hex string. Convert with uint32(h) or uint64(h).
type Hex uint64

// UnmarshalText implements encoding.TextUnmarshaler. TOML integers arrive
// here in decimal; strings may use 0x, 0o or 0b prefixes.
func (h *Hex) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	v, err := strconv.ParseUint(strings.ReplaceAll(s, "_", ""), 0, 64)
	if err != nil {
		return fmt.Errorf("%q is not an unsigned integer (use e.g. 0x08000000)", s)
	}
	*h = Hex(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler: "0x" and 8 or more hex digits.
func (h Hex) MarshalText() ([]byte, error) {
	return []byte(h.String()), nil
}

// String returns h in hex, e.g. "0x08000000".
func (h Hex) String() string { return fmt.Sprintf("%#08x", uint64(h)) }

// Window is a daily time-of-day range in local time, written "HH:MM-HH:MM".
// A window whose end is before its start wraps midnight ("22:00-04:00").
// The zero Window means "any time".
type Window struct {
	Start time.Duration // offset from local midnight, inclusive
	End   time.Duration // offset from local midnight, exclusive
}

// ParseWindow parses "HH:MM-HH:MM" (or "" for any time).
// E.g. ParseWindow("02:00-05:00") = Window{2h, 5h}.
func ParseWindow(s string) (Window, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Window{}, nil
	}
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return Window{}, fmt.Errorf("%q is not a window (use \"HH:MM-HH:MM\", e.g. \"02:00-05:00\")", s)
	}
	start, err1 := parseClock(from)
	end, err2 := parseClock(to)
	if err1 != nil || err2 != nil {
		return Window{}, fmt.Errorf("%q is not a window (use \"HH:MM-HH:MM\" with 00:00 to 23:59, e.g. \"02:00-05:00\")", s)
	}
	if start == end {
		return Window{}, fmt.Errorf("%q is empty: start equals end (use \"\" for any time)", s)
	}
	return Window{Start: start, End: end}, nil
}

// parseClock parses "HH:MM" (00:00 to 23:59; also 24:00 as an end).
func parseClock(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	hh, mm, ok := strings.Cut(s, ":")
	if !ok || len(hh) < 1 || len(hh) > 2 || len(mm) != 2 {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	h, err1 := strconv.ParseUint(hh, 10, 8)
	m, err2 := strconv.ParseUint(mm, 10, 8)
	if err1 != nil || err2 != nil || h > 24 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

// IsZero reports whether w is "any time".
func (w Window) IsZero() bool { return w.Start == 0 && w.End == 0 }

// Contains reports whether the local wall-clock time of t falls in w.
// The zero Window contains every time.
func (w Window) Contains(t time.Time) bool {
	if w.IsZero() {
		return true
	}
	h, m, s := t.Clock()
	off := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second
	if w.Start < w.End {
		return off >= w.Start && off < w.End
	}
	return off >= w.Start || off < w.End
}

// String returns "HH:MM-HH:MM", or "" for any time.
func (w Window) String() string {
	if w.IsZero() {
		return ""
	}
	return clock(w.Start) + "-" + clock(w.End)
}

func clock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// UnmarshalText implements encoding.TextUnmarshaler via ParseWindow.
func (w *Window) UnmarshalText(b []byte) error {
	v, err := ParseWindow(string(b))
	if err != nil {
		return err
	}
	*w = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (w Window) MarshalText() ([]byte, error) { return []byte(w.String()), nil }

// Bytes is a byte count. In TOML it may be an integer (1048576) or a string
// with a binary or decimal unit ("64MiB", "1GiB", "512KiB", "1MB", "100B").
type Bytes int64

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

// ParseBytes parses a byte count as Bytes.UnmarshalText does.
func ParseBytes(s string) (Bytes, error) {
	s = strings.TrimSpace(s)
	num, mult := s, int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(num, "_", ""), 10, 64)
	if err != nil || v < 0 || (v > 0 && mult > (1<<62)/v) {
		return 0, fmt.Errorf("%q is not a byte count (use e.g. 1048576, \"64MiB\" or \"1GiB\")", s)
	}
	return Bytes(v * mult), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (b *Bytes) UnmarshalText(t []byte) error {
	v, err := ParseBytes(string(t))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// MarshalText implements encoding.TextMarshaler: the largest binary unit
// that divides the value exactly, e.g. "64MiB", "1GiB", "1000B".
func (b Bytes) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// String returns b with the largest binary unit that divides it exactly.
func (b Bytes) String() string {
	for _, u := range []struct {
		s string
		m int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if b != 0 && int64(b)%u.m == 0 {
			return fmt.Sprintf("%d%s", int64(b)/u.m, u.s)
		}
	}
	return fmt.Sprintf("%dB", int64(b))
}
