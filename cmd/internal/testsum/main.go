// Command testsum reads `go test -json` on stdin and prints what plain
// `go test` prints (package lines, build errors, the output of failed tests)
// followed by every skipped test with its reason and their count, so that a
// test that skipped cannot pass unseen. A parent test that passed while
// every one of its subtests skipped is listed and counted too. It exits 1
// when a test, a package or a build failed, or when the input is not
// test2json. `make test` pipes the suite through it.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	s, err := summarise(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsum: "+err.Error())
		os.Exit(1)
	}
	s.print(os.Stdout, os.Getenv("CI"))
	if s.failed {
		os.Exit(1)
	}
}

// summarise copies the readable part of the event stream r to w as it
// arrives and returns the totals.
func summarise(r io.Reader, w io.Writer) (*summary, error) {
	s := newSummary()
	err := eachEvent(r, func(ev event) { s.add(ev, w) })
	return s, err
}
