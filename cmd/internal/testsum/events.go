package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json), build events
// included (Go 1.24+: build-output and build-fail carry ImportPath).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string
}

// maxLine bounds one JSON line: a test may print a long line, and test2json
// splits nothing.
const maxLine = 16 << 20

// eachEvent decodes r line by line and calls f for each event. A line that
// is not JSON is an error naming its number: the input is not test2json.
func eachEvent(r io.Reader, f func(event)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var ev event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			return fmt.Errorf("line %d is not a go test -json event (%v): %.80q; run go test with -json", n, err, line)
		}
		f(ev)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read go test -json: %w", err)
	}
	return nil
}
