package download

import (
	"fmt"
	"strconv"
	"strings"
)

// contentRange is a parsed "Content-Range: bytes first-last/total" header.
// Total is -1 when the server sent "*".
type contentRange struct {
	First, Last, Total int64
}

// parseContentRange parses the Content-Range of a 206 answer (RFC 9110
// §14.4). It accepts only the "bytes" unit and a satisfied range with
// first ≤ last < total.
func parseContentRange(s string) (contentRange, error) {
	unit, rest, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok || !strings.EqualFold(unit, "bytes") {
		return contentRange{}, fmt.Errorf("content-range %q: want \"bytes first-last/total\"", s)
	}
	rng, total, ok := strings.Cut(strings.TrimSpace(rest), "/")
	if !ok {
		return contentRange{}, fmt.Errorf("content-range %q: no \"/total\"", s)
	}
	a, b, ok := strings.Cut(rng, "-")
	if !ok {
		return contentRange{}, fmt.Errorf("content-range %q: no \"first-last\"", s)
	}
	cr := contentRange{Total: -1}
	var err error
	if cr.First, err = parseNonNeg(a); err != nil {
		return contentRange{}, fmt.Errorf("content-range %q: first: %w", s, err)
	}
	if cr.Last, err = parseNonNeg(b); err != nil {
		return contentRange{}, fmt.Errorf("content-range %q: last: %w", s, err)
	}
	if total != "*" {
		if cr.Total, err = parseNonNeg(total); err != nil {
			return contentRange{}, fmt.Errorf("content-range %q: total: %w", s, err)
		}
	}
	if cr.Last < cr.First || (cr.Total >= 0 && cr.Last >= cr.Total) {
		return contentRange{}, fmt.Errorf("content-range %q: range out of order or past the total", s)
	}
	return cr, nil
}

// parseNonNeg parses a decimal int64 made only of digits.
func parseNonNeg(s string) (int64, error) {
	if s == "" || len(s) > 19 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a non-negative decimal number", s)
	}
	return strconv.ParseInt(s, 10, 64)
}
