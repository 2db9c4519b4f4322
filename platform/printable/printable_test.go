package printable

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1.2.3", "1.2.3"},
		{"系统繁忙", "系统繁忙"},
		{"a b", "a b"},
		{"1.2\x1b[2J\x1b]0;pwn\x07", `1.2\x1b[2J\x1b]0;pwn\x07`},
		{"line\nnext\r\n\ttab", `line\nnext\r\n\ttab`},
		{"nul\x00del\x7f", `nul\x00del\x7f`},
		{"c1\u0085\u009b", `c1\u0085\u009b`},
		{"bad\xff\xfe", `bad\xff\xfe`},
		{"cut\xe7\xb3", `cut\xe7\xb3`},
		{"rlo\u202egnp.exe", `rlo\u202egnp.exe`},
		{`back\slash`, `back\slash`},
	}
	for _, tt := range tests {
		if got := String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := String(String(tt.in)); got != tt.want {
			t.Errorf("String twice (%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"1.2.3", 5, "1.2.3"},
		{"1.2.3", 4, "1.2…"},
		{"系统繁忙", 3, "系统…"},
		{"ab\x1bcd", 5, "ab…"}, // the escape \x1b (4 characters) is not split
		{"ab\x1bcd", 8, `ab\x1bcd`},
		{strings.Repeat("A", 10240), 64, strings.Repeat("A", 63) + "…"},
		{"x", 0, ""},
	}
	for _, tt := range tests {
		got := Clip(tt.in, tt.max)
		if got != tt.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
		if utf8.RuneCountInString(got) > tt.max || !utf8.ValidString(got) {
			t.Errorf("Clip(%q, %d) = %q: longer than max or invalid UTF-8", tt.in, tt.max, got)
		}
	}
}

func TestFirstAndKind(t *testing.T) {
	tests := []struct{ in, first, kind string }{
		{"1.2.3", "", ""},
		{"系统繁忙", "", ""},
		{"1.2\x1b[2J\x07", `\x1b`, "control character"},
		{"v\n1", `\n`, "control character"},
		{"v\xff", `\xff`, "invalid UTF-8 byte"},
		{"v\u202e", `\u202e`, "non-printing character"},
	}
	for _, tt := range tests {
		if got := First(tt.in); got != tt.first {
			t.Errorf("First(%q) = %q, want %q", tt.in, got, tt.first)
		}
		if got := Kind(tt.in); got != tt.kind {
			t.Errorf("Kind(%q) = %q, want %q", tt.in, got, tt.kind)
		}
		if Safe(tt.in) != (tt.first == "") {
			t.Errorf("Safe(%q) = %v", tt.in, Safe(tt.in))
		}
	}
}

// FuzzString checks that the output is always valid, printable UTF-8 and
// that escaping is idempotent.
func FuzzString(f *testing.F) {
	for _, s := range []string{"", "1.2", "\x1b[2J", "\xff", "系统", "\u0085"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := String(s)
		if !Safe(out) {
			t.Fatalf("String(%q) = %q is not safe", s, out)
		}
		if String(out) != out {
			t.Fatalf("String not idempotent on %q", s)
		}
		if c := Clip(s, 16); utf8.RuneCountInString(c) > 16 || !Safe(c) {
			t.Fatalf("Clip(%q, 16) = %q", s, c)
		}
	})
}
