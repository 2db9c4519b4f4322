// Package printable makes text from outside the agent (a server's answer, a
// package's manifest, a device's reply) safe to show on a terminal or write
// to a log: control characters and invalid UTF-8 are written as Go-style
// escapes (\x1b, \n, \x07, \u0085, \xff), printable Unicode is kept as is.
//
// Backslashes are not escaped, so String is idempotent: escaping twice gives
// the same text as escaping once, and layers that each escape do no harm.
package printable

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// String returns s with every character that is not printable escaped:
// C0 controls, DEL, C1 controls, other non-printing runes (format
// characters such as U+202E, separators other than the space) and each byte
// of invalid UTF-8. Text without such characters is returned unchanged.
func String(s string) string {
	if Safe(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		piece, n := next(s[i:])
		b.WriteString(piece)
		i += n
	}
	return b.String()
}

// Clip returns String(s) cut to at most max characters; a cut is marked
// with a trailing "…" (which counts towards max). Escapes are never split.
func Clip(s string, max int) string {
	if max < 1 {
		return ""
	}
	all := String(s)
	if utf8.RuneCountInString(all) <= max {
		return all
	}
	var b strings.Builder
	count := 0
	for i := 0; i < len(s); {
		piece, n := next(s[i:])
		pn := utf8.RuneCountInString(piece)
		if count+pn > max-1 {
			break
		}
		b.WriteString(piece)
		count += pn
		i += n
	}
	return b.String() + "…"
}

// Safe reports whether s can be shown as is: valid UTF-8 holding only
// printable characters (the space included).
func Safe(s string) bool {
	return First(s) == ""
}

// First returns the escape of the first character of s that String would
// escape (e.g. `\x1b`), or "" when s is safe as is.
func First(s string) string {
	for i := 0; i < len(s); {
		piece, n := next(s[i:])
		if len(piece) != n || piece != s[i:i+n] {
			return piece
		}
		i += n
	}
	return ""
}

// Kind names what First found, for messages: "invalid UTF-8 byte",
// "control character" or "non-printing character"; "" for a safe s.
func Kind(s string) string {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			return "invalid UTF-8 byte"
		case unicode.IsControl(r):
			return "control character"
		case !unicode.IsPrint(r):
			return "non-printing character"
		}
		i += n
	}
	return ""
}

// next returns the display form of the first character of s (s non-empty)
// and how many bytes of s it covers.
func next(s string) (string, int) {
	r, n := utf8.DecodeRuneInString(s)
	switch {
	case r == utf8.RuneError && n <= 1:
		return fmt.Sprintf(`\x%02x`, s[0]), 1
	case unicode.IsPrint(r):
		return s[:n], n
	}
	switch r {
	case '\n':
		return `\n`, n
	case '\r':
		return `\r`, n
	case '\t':
		return `\t`, n
	}
	if r < 0x80 {
		return fmt.Sprintf(`\x%02x`, r), n
	}
	if r <= 0xffff {
		return fmt.Sprintf(`\u%04x`, r), n
	}
	return fmt.Sprintf(`\U%08x`, r), n
}
