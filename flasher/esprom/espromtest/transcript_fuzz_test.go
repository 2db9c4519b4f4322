package espromtest_test

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"ota-agent/flasher/esprom/espromtest"
)

func TestReadTranscriptErrors(t *testing.T) {
	for in, want := range map[string]string{
		"< 0100\n":                         "transcript line 1: reply before any request",
		"# c\n> 00\n<0\n":                  "transcript line 3: want \"> hex\" or \"< hex\", got \"<0\"",
		"> 0g\n":                           "transcript line 1: frame is not hex: encoding/hex: invalid byte: U+0067 'g'",
		"> 000\n":                          "transcript line 1: frame is not hex: encoding/hex: odd length hex string",
		"= 00\n":                           "transcript line 1: want \"> hex\" or \"< hex\", got \"= 00\"",
		"> " + strings.Repeat("00", 70000): "read transcript: bufio.Scanner: token too long (lines are at most 131088 bytes)",
	} {
		_, err := espromtest.ReadTranscript(strings.NewReader(in))
		if err == nil || err.Error() != want {
			t.Errorf("%.20q: err %v, want %s", in, err, want)
		}
	}
}

func FuzzReadTranscript(f *testing.F) {
	f.Add("> 000a04000000000000100040\n< 010a0400831df00000000000\n")
	f.Add("# comment\n\n> 00\n> 01\n< 02\n< 03\n")
	f.Fuzz(func(t *testing.T, in string) {
		ex, err := espromtest.ReadTranscript(strings.NewReader(in))
		if err != nil {
			return
		}
		var b bytes.Buffer
		for _, e := range ex {
			fmt.Fprintf(&b, "> %x\n", e.Request)
			for _, r := range e.Replies {
				fmt.Fprintf(&b, "< %x\n", r)
			}
		}
		again, err := espromtest.ReadTranscript(&b)
		if err != nil || !reflect.DeepEqual(norm(again), norm(ex)) {
			t.Fatalf("round trip of %q: %v", in, err)
		}
	})
}

// norm makes empty and nil frames compare equal.
func norm(ex []espromtest.Exchange) []string {
	var out []string
	for _, e := range ex {
		out = append(out, fmt.Sprintf("%x", e.Request))
		for _, r := range e.Replies {
			out = append(out, fmt.Sprintf("<%x", r))
		}
	}
	return out
}
