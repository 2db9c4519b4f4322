package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// key names one test of one package.
type key struct{ pkg, test string }

// summary is what the stream said so far.
type summary struct {
	output   map[key][]string // output lines of each running test
	result   map[key]string   // "pass", "fail" or "skip" of each ended test
	children map[key][]key    // direct subtests of each test
	skipped  []skip
	failed   bool
}

// skip is one skipped test and why, or a parent whose subtests all skipped.
type skip struct {
	key
	reason string
	parent bool
}

func newSummary() *summary {
	return &summary{output: map[key][]string{}, result: map[key]string{}, children: map[key][]key{}}
}

// add takes one event, printing to w what plain go test would print.
func (s *summary) add(ev event, w io.Writer) {
	switch {
	case ev.Action == "build-output":
		fmt.Fprint(w, ev.Output)
	case ev.Action == "build-fail":
		s.failed = true
	case ev.Test == "":
		s.addPackage(ev, w)
	default:
		s.addTest(ev, w)
	}
}

// addPackage prints a package's own lines ("ok", "FAIL", panics), not the
// bare "PASS" the test binary writes before them.
func (s *summary) addPackage(ev event, w io.Writer) {
	if ev.Action == "fail" {
		s.failed = true
	}
	if ev.Action == "output" && ev.Output != "PASS\n" {
		fmt.Fprint(w, ev.Output)
	}
}

// addTest collects a test's output and acts when it ends.
func (s *summary) addTest(ev event, w io.Writer) {
	k := key{ev.Package, ev.Test}
	switch ev.Action {
	case "run":
		if i := strings.LastIndex(ev.Test, "/"); i > 0 {
			p := key{ev.Package, ev.Test[:i]}
			s.children[p] = append(s.children[p], k)
		}
	case "output":
		s.output[k] = append(s.output[k], ev.Output)
	case "pass", "fail", "skip":
		s.end(k, ev.Action, w)
	}
}

// end records how test k ended: a failure prints its output, a skip is
// kept with its reason, a pass whose subtests all skipped is kept as such.
func (s *summary) end(k key, action string, w io.Writer) {
	s.result[k] = action
	switch {
	case action == "fail":
		s.failed = true
		fmt.Fprint(w, strings.Join(s.output[k], ""))
	case action == "skip":
		s.skipped = append(s.skipped, skip{key: k, reason: reason(s.output[k])})
	case action == "pass" && s.allChildrenSkipped(k):
		s.skipped = append(s.skipped, skip{key: k, reason: fmt.Sprintf("passed, but all %d subtests skipped", len(s.children[k])), parent: true})
	}
	delete(s.output, k)
}

// allChildrenSkipped says whether k has subtests and every one skipped.
func (s *summary) allChildrenSkipped(k key) bool {
	if len(s.children[k]) == 0 {
		return false
	}
	for _, c := range s.children[k] {
		if s.result[c] != "skip" {
			return false
		}
	}
	return true
}

// reason is a skipped test's own message: its output without the framing
// lines (=== RUN, --- SKIP), on one line.
func reason(lines []string) string {
	var r []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		r = append(r, t)
	}
	if len(r) == 0 {
		return "(no reason given)"
	}
	return strings.Join(r, " ")
}

// print writes the skipped tests, sorted, and their count; ci is $CI.
func (s *summary) print(w io.Writer, ci string) {
	sort.Slice(s.skipped, func(i, j int) bool {
		a, b := s.skipped[i], s.skipped[j]
		return a.pkg < b.pkg || a.pkg == b.pkg && a.test < b.test
	})
	parents := 0
	for _, sk := range s.skipped {
		fmt.Fprintf(w, "SKIP %s %s: %s\n", sk.pkg, sk.test, sk.reason)
		if sk.parent {
			parents++
		}
	}
	policy := "CI unset: a missing peer or privilege skips"
	if ci != "" {
		policy = "CI=" + ci + ": a missing peer or privilege fails"
	}
	fmt.Fprintf(w, "skipped: %d tests skipped, %d passed with every subtest skipped (%s)\n", len(s.skipped)-parents, parents, policy)
}
