package policy

import (
	"fmt"
	"strings"
)

// dated is a version with an embedded date, e.g. "Brave7_20231124_V3.2.5".
type dated struct {
	date  string   // YYYYMMDD (a six-digit YYMMDD is widened to 20YYMMDD)
	parts []string // trailing version parts: digits or a literal "x"
	src   string
}

// parseDate finds the first valid 8-digit date run in s (or, when there is
// none, a 6-digit YYMMDD run), then the version after it.
func parseDate(s string) (dated, bool) {
	runs := digitRuns(s)
	for _, width := range []int{8, 6} {
		for _, r := range runs {
			d := s[r[0]:r[1]]
			if len(d) != width || !validDate(d) {
				continue
			}
			if width == 6 {
				d = "20" + d
			}
			parts, ok := trailing(s[r[1]:])
			if !ok {
				return dated{}, false
			}
			return dated{date: d, parts: parts, src: s}, true
		}
	}
	return dated{}, false
}

// digitRuns returns the [start, end) offsets of maximal ASCII digit runs.
func digitRuns(s string) [][2]int {
	var runs [][2]int
	for i := 0; i < len(s); {
		if s[i] < '0' || s[i] > '9' {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		runs = append(runs, [2]int{i, j})
		i = j
	}
	return runs
}

// validDate checks YYYYMMDD (years 1970–2099) or YYMMDD.
func validDate(d string) bool {
	if len(d) == 8 {
		if y := d[:4]; y < "1970" || y > "2099" {
			return false
		}
		d = d[2:]
	}
	m, day := d[2:4], d[4:6]
	return m >= "01" && m <= "12" && day >= "01" && day <= "31"
}

// trailing parses what follows the date: separators, an optional V, then
// dot-separated parts ("_V3.2.5", "V1.7", " V2.0", "-V3", "Vx.2.4", "").
func trailing(s string) ([]string, bool) {
	s = strings.TrimLeft(s, " _-.")
	s = strings.TrimPrefix(strings.TrimPrefix(s, "V"), "v")
	if s == "" {
		return nil, true
	}
	parts := strings.Split(s, ".")
	for _, p := range parts {
		if !isDigits(p) && p != "x" && p != "X" {
			return nil, false
		}
	}
	return parts, true
}

// compare orders by date, then by the trailing version. A literal x only
// equals another x; against a number it cannot be ordered.
func (a dated) compare(b dated) (int, error) {
	if a.date != b.date {
		return strings.Compare(a.date, b.date), nil
	}
	for i := range max(len(a.parts), len(b.parts)) {
		pa, pb := part(a.parts, i), part(b.parts, i)
		xa, xb := strings.EqualFold(pa, "x"), strings.EqualFold(pb, "x")
		switch {
		case xa && xb:
			continue
		case xa || xb:
			return 0, fmt.Errorf("%w: %q and %q share the date %s and a literal x cannot be ordered against a number", ErrUnorderable, a.src, b.src, a.date)
		}
		if c := compareDigits(pa, pb); c != 0 {
			return c, nil
		}
	}
	return 0, nil
}

func part(p []string, i int) string {
	if i < len(p) {
		return p[i]
	}
	return "0"
}

func compareDate(a, b string) (int, error) {
	da, ok := parseDate(a)
	if !ok {
		return 0, fmt.Errorf("%w: %q has no YYYYMMDD date followed by a version (scheme date)", ErrUnorderable, a)
	}
	db, ok := parseDate(b)
	if !ok {
		return 0, fmt.Errorf("%w: %q has no YYYYMMDD date followed by a version (scheme date)", ErrUnorderable, b)
	}
	return da.compare(db)
}
