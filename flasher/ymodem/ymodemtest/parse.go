package ymodemtest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseMode parses "lenient" or "strict" (ota-agent simulate ymodem --mode).
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "lenient":
		return Lenient, nil
	case "strict", "an4657":
		return Strict, nil
	}
	return Lenient, fmt.Errorf("ymodem simulator mode %q: want lenient or strict", s)
}

// ParseFault parses "kind[:block[:stall]]", e.g. "drop-ack:3",
// "stall:2:5s", "verify" (ota-agent simulate ymodem --fault). Kinds are the
// FaultKind names; block defaults to 1.
func ParseFault(s string) (Fault, error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) > 3 {
		return Fault{}, fmt.Errorf("fault %q: want kind[:block[:stall]]", s)
	}
	f := Fault{Kind: -1, Block: 1}
	for k, name := range faultNames {
		if strings.EqualFold(parts[0], name) {
			f.Kind = FaultKind(k)
		}
	}
	if f.Kind < 0 {
		return Fault{}, fmt.Errorf("fault %q: kind %q: want one of %s", s, parts[0], strings.Join(faultNames[:], ", "))
	}
	if len(parts) > 1 {
		n, err := strconv.Atoi(parts[1])
		if err != nil || n < 0 {
			return Fault{}, fmt.Errorf("fault %q: block %q: want a block number, 0 for block 0", s, parts[1])
		}
		f.Block = n
	}
	if len(parts) > 2 {
		d, err := time.ParseDuration(parts[2])
		if err != nil || d < 0 || f.Kind != Stall {
			return Fault{}, fmt.Errorf("fault %q: stall %q: want a duration such as 5s, on a stall fault only", s, parts[2])
		}
		f.Stall = d
	}
	return f, nil
}

// String returns the fault in ParseFault's form.
func (f Fault) String() string {
	s := f.Kind.String() + ":" + strconv.Itoa(f.Block)
	if f.Kind == Stall && f.Stall > 0 {
		s += ":" + f.Stall.String()
	}
	return s
}
