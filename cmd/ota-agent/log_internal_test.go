package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestHostileLogEscapes: the text and JSON handlers of newLogger escape
// control bytes and invalid UTF-8 in attribute values (plain strings and
// errors), so a server's text cannot forge a log line or drive a terminal.
// The JSON handler alone would write DEL and C1 controls raw; newLogger's
// escapeJSONAttr covers them.
// Log messages in the agent are constants; server text only ever travels
// in attributes.
func TestHostileLogEscapes(t *testing.T) {
	const hostile = "1.2\x1b[2J\x1b]0;pwn\x07\r\nlevel=ERROR msg=forged\xff\u0085"
	for _, tt := range []struct{ format, version, err string }{
		{"text", `version="1.2\x1b[2J\x1b]0;pwn\a\r\nlevel=ERROR msg=forged\xff\u0085"`, `err="check: 1.2\x1b[2J\x1b]0;pwn\a\r\nlevel=ERROR msg=forged\xff\u0085"`},
		{"json", `"version":"1.2\\x1b[2J\\x1b]0;pwn\\x07\\r\\nlevel=ERROR msg=forged\\xff\\u0085"`, `"err":"check: 1.2\\x1b[2J\\x1b]0;pwn\\x07\\r\\nlevel=ERROR msg=forged\\xff\\u0085"`},
	} {
		var buf bytes.Buffer
		log, err := newLogger(&buf, tt.format, "info")
		if err != nil {
			t.Fatal(err)
		}
		log.Warn("install failed", "version", hostile, "err", errors.New("check: "+hostile))
		out := buf.String()
		if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
			t.Errorf("%s: not one line: %q", tt.format, out)
		}
		for _, bad := range []string{"\x1b", "\x07", "\r", "\xff", "\u0085"} {
			if strings.Contains(out, bad) {
				t.Errorf("%s: raw %q in %q", tt.format, bad, out)
			}
		}
		for _, want := range []string{tt.version, tt.err} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: %q lacks %s", tt.format, out, want)
			}
		}
	}
}
