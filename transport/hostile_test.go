package transport

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// TestHostileErrorBodyEscapes: an error body with terminal escapes, a bell,
// CR/LF and invalid UTF-8 is quoted escaped, on one line, at most 120
// characters, never cut inside a character.
func TestHostileErrorBodyEscapes(t *testing.T) {
	body := []byte("\x1b[2J\x1b]0;pwn\x07系统繁忙\r\nINJECTED level=ERROR\xff")
	err := StatusError("akaso", "check", &http.Response{StatusCode: 503, Header: http.Header{}}, body)
	want := `akaso check: HTTP 503: \x1b[2J\x1b]0;pwn\x07系统繁忙 INJECTED level=ERROR\xff`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %q, want %q", err, want)
	}
	long := []byte(strings.Repeat("系", 119) + "\x1b\x1b")
	if got, want := Snippet(long), strings.Repeat("系", 119)+"…"; got != want {
		t.Errorf("Snippet(long) = %q, want %q", got, want)
	}
	e := &Error{API: "mxchip", Op: "check", Code: "E\x1b1", Msg: "bad\x07", Err: errors.New("wrapped \x1b[31m")}
	if got, want := e.Error(), `mxchip check: code E\x1b1: bad\x07: wrapped \x1b[31m`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
