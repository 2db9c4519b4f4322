package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// TestHostileTOMLNesting: deeply nested arrays, inline tables, headers and
// dotted keys give one *Error with file:line at once, not a stack overflow
// or minutes of decoding.
func TestHostileTOMLNesting(t *testing.T) {
	const pre = "[device]\nid = \"x\"\n"
	tests := []struct {
		name, text, want string
	}{
		{"arrays", pre + "a = " + strings.Repeat("[", 100000), "f.toml:3: invalid TOML: arrays and inline tables nest more than 32 deep (the configuration needs at most 4; check the file is the agent's)"},
		{"inline tables", pre + "a = " + strings.Repeat("{b=", 100000) + "1" + strings.Repeat("}", 100000), "f.toml:3: invalid TOML: arrays and inline tables nest more than 32 deep (the configuration needs at most 4; check the file is the agent's)"},
		{"array over lines", pre + "a = " + strings.Repeat("[\n", 100000), "f.toml:35: invalid TOML: arrays and inline tables nest more than 32 deep (the configuration needs at most 4; check the file is the agent's)"},
		{"header", pre + "[a" + strings.Repeat(".a", 100000) + "]\n", "f.toml:3: invalid TOML: a dotted key has more than 32 parts (the configuration needs at most 4; check the file is the agent's)"},
		{"dotted key", pre + "a" + strings.Repeat(".a", 100000) + " = 1\n", "f.toml:3: invalid TOML: a dotted key has more than 32 parts (the configuration needs at most 4; check the file is the agent's)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := parse("f.toml", []byte(tt.text))
			var ce *Error
			if !errors.As(err, &ce) || err.Error() != tt.want {
				t.Errorf("parse = %v, want %q", err, tt.want)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
	ok := "a = [[1, 2], [3.5, \"[[[[\"]]\nb = { c.d = { e = '{{{{' } }\n# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\nf = \"\"\"\n[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"\"\"\n"
	if msg, line := nestingError([]byte(ok), maxNesting); msg != "" {
		t.Errorf("nestingError(shallow) = %q at line %d", msg, line)
	}
}

// FuzzNestingError: the pre-scan never panics, reports a line inside the
// input, and passes input nested up to the limit while refusing one level
// more; what it passes, the decoder handles without crashing.
func FuzzNestingError(f *testing.F) {
	for _, s := range []string{"a = [[1]]", "[a.b.c]\nx = {y = [1, {z = 2}]}", "s = \"\\\"[[[\"", "m = '''\n[[['''", "# [[[", "a.b.c.d = 1"} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		msg, line := nestingError([]byte(s), maxNesting)
		if msg != "" && (line < 1 || line > strings.Count(s, "\n")+1) {
			t.Fatalf("line %d outside input of %d lines", line, strings.Count(s, "\n")+1)
		}
		if msg == "" {
			func() {
				defer func() { _ = recover() }() // the decoder's own panics are recovered by parse
				var m map[string]any
				_, _ = toml.Decode(s, &m)
			}()
		}
		n = n%(2*maxNesting) + maxNesting/2
		if n < 1 {
			n = 1
		}
		nested := "a = " + strings.Repeat("[", n) + strings.Repeat("]", n)
		if got, _ := nestingError([]byte(nested), maxNesting); (got != "") != (n > maxNesting) {
			t.Fatalf("depth %d: %q", n, got)
		}
	})
}
