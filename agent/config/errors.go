package config

import (
	"errors"
	"strconv"
	"strings"
)

// ErrUnknownKey is wrapped by the *Error for a key the agent does not know
// (usually a typo).
var ErrUnknownKey = errors.New("unknown key")

// ErrWorldReadable is wrapped by the *Error for a secret file that any user
// of the device can read.
var ErrWorldReadable = errors.New("secret file is world-readable")

// Error is a configuration error. Error() is one line a field engineer can
// act on, e.g.
//
//	/etc/ota-agent/agent.toml:14: server.poll_interval: "6 hours" is not a duration (use e.g. "6h", "30m")
type Error struct {
	File string // the configuration file; "" when not read from a file
	Line int    // 1-based line of the key; 0 when unknown
	Key  string // dotted key, e.g. "server.poll_interval" or "component[mcu].baud"
	Msg  string // what is wrong and what is allowed
	Err  error  // underlying error (ErrUnknownKey, ErrWorldReadable, fs errors), may be nil
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	switch {
	case errors.Is(e.Err, ErrUnknownKey):
		b.WriteString("unknown key " + strconv.Quote(e.Key))
		if e.Msg != "" {
			b.WriteString(" (" + e.Msg + ")")
		}
	case e.Key != "":
		b.WriteString(e.Key + ": " + e.Msg)
	default:
		b.WriteString(e.Msg)
	}
	return oneLine(b.String())
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// oneLine folds any line breaks so that an error is always one line.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(strings.NewReplacer("\r", " ", "\n", " ").Replace(s)), " ")
}
