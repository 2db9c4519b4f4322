// Package grubenv reads and writes GRUB environment blocks (grubenv), the
// format of grub-core/lib/envblk.c: the signature line
// "# GRUB Environment Block\n", "name=value\n" lines, then '#' padding to the
// block size, with no checksum. In values a backslash is written "\\" and a
// newline "\" followed by a real newline.
//
// GRUB's save_env writes the file's existing disk blocks in place through a
// blocklist, so a writer must keep the file exactly as large as it is and
// must not move it: WriteFile rewrites in place and fsyncs, never renames.
//
// Pair is grub-mender-grubenv's redundant layout: two env files, each with
// a lock block saying whether it is complete.
package grubenv

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Signature starts every environment block.
const Signature = "# GRUB Environment Block\n"

// DefaultSize is the size grub-editenv create gives a block, in bytes.
const DefaultSize = 1024

// ErrTooSmall is GRUB's "environment block too small": the variables do not
// fit in the block's fixed size.
var ErrTooSmall = errors.New("environment block too small")

// ErrInvalid is GRUB's "invalid environment block": no signature.
var ErrInvalid = errors.New("invalid environment block")

// Var is one variable.
type Var struct{ Name, Value string }

// Env is a parsed block. Variables keep their order, as grub-editenv keeps
// it; Comments are the comment lines before the first variable (e.g.
// grub-editenv's "# WARNING: Do not edit ..."), written back as they were.
type Env struct {
	Vars     []Var
	Comments []string
}

// Get returns the value of name and whether it is set.
func (e *Env) Get(name string) (string, bool) {
	for _, v := range e.Vars {
		if v.Name == name {
			return v.Value, true
		}
	}
	return "", false
}

// Set sets name to value, in place if it exists, else appended.
func (e *Env) Set(name, value string) {
	for i, v := range e.Vars {
		if v.Name == name {
			e.Vars[i].Value = value
			return
		}
	}
	e.Vars = append(e.Vars, Var{name, value})
}

// Unset removes name if it is set.
func (e *Env) Unset(name string) {
	for i, v := range e.Vars {
		if v.Name == name {
			e.Vars = append(e.Vars[:i], e.Vars[i+1:]...)
			return
		}
	}
}

// Map returns the variables as a map.
func (e *Env) Map() map[string]string {
	m := make(map[string]string, len(e.Vars))
	for _, v := range e.Vars {
		m[v.Name] = v.Value
	}
	return m
}

// Parse decodes a block. Lines starting with '#' are comments (the padding
// is one); a line without '=' or a value running to the end of the block
// without its newline is an error, where GRUB would silently stop reading.
func Parse(buf []byte) (*Env, error) {
	if !bytes.HasPrefix(buf, []byte(Signature)) {
		return nil, fmt.Errorf("%w: no %q signature", ErrInvalid, strings.TrimSpace(Signature))
	}
	e := &Env{}
	for p := len(Signature); p < len(buf); {
		end := lineEnd(buf, p)
		if buf[p] == '#' {
			if end < len(buf) && len(e.Vars) == 0 {
				e.Comments = append(e.Comments, string(buf[p:end]))
			}
			p = end + 1
			continue
		}
		if end >= len(buf) {
			return nil, fmt.Errorf("%w: line at offset %d has no newline before the end of the %d-byte block", ErrInvalid, p, len(buf))
		}
		name, raw, ok := bytes.Cut(buf[p:end], []byte("="))
		if !ok || len(name) == 0 {
			return nil, fmt.Errorf("%w: line at offset %d is %q, want name=value", ErrInvalid, p, clip(buf[p:end]))
		}
		e.Vars = append(e.Vars, Var{string(name), unescape(raw)})
		p = end + 1
	}
	return e, nil
}

// lineEnd returns the index of the newline ending the line at p, skipping
// escaped characters, or len(buf) when there is none.
func lineEnd(buf []byte, p int) int {
	for ; p < len(buf); p++ {
		switch buf[p] {
		case '\n':
			return p
		case '\\':
			p++
		}
	}
	return len(buf)
}

func unescape(raw []byte) string {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		if raw[i] == '\\' && i+1 < len(raw) {
			i++
		}
		b.WriteByte(raw[i])
	}
	return b.String()
}

func escape(v string) string {
	r := strings.NewReplacer(`\`, `\\`, "\n", "\\\n")
	return r.Replace(v)
}

// Encode writes the block at exactly size bytes, padded with '#'. It
// returns ErrTooSmall when the variables do not fit, and an error for a name
// that is empty, starts with '#' or holds '=', a newline or a backslash.
func (e *Env) Encode(size int) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(Signature)
	for _, c := range e.Comments {
		b.WriteString(c + "\n")
	}
	for _, v := range e.Vars {
		if v.Name == "" || v.Name[0] == '#' || strings.ContainsAny(v.Name, "=\n\\") {
			return nil, fmt.Errorf("variable name %q: want no '=', newline, backslash or leading '#'", clip([]byte(v.Name)))
		}
		fmt.Fprintf(&b, "%s=%s\n", v.Name, escape(v.Value))
	}
	if b.Len() > size {
		return nil, fmt.Errorf("%w: need %d bytes, block is %d", ErrTooSmall, b.Len(), size)
	}
	b.Write(bytes.Repeat([]byte{'#'}, size-b.Len()))
	return b.Bytes(), nil
}

func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}
