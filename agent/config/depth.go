package config

import "fmt"

// maxNesting bounds how deep arrays and inline tables may nest, and how
// many parts a dotted key may have. The agent's own keys need at most 4;
// the TOML decoder recurses once per level (100 000 levels overflow the
// stack, which no recover catches) and slows down quadratically with the
// parts of a dotted key.
const maxNesting = 32

// nestingError returns a description and the 1-based line of the first
// place where data nests arrays or inline tables deeper than max, or has a
// dotted key of more than max parts; "" when it has none. It reads TOML's
// strings and comments only to skip them; everything else is left to the
// decoder. It never fails and is linear in len(data).
func nestingError(data []byte, max int) (string, int) {
	s := scanner{data: data, line: 1, key: true, parts: 1}
	for s.i < len(data) {
		if msg := s.step(max); msg != "" {
			return msg, s.line
		}
	}
	return "", 0
}

// scanner walks TOML text for nestingError.
type scanner struct {
	data  []byte
	i     int
	line  int
	stack []byte // open '[' (value or header) and '{'
	key   bool   // reading a key: dots separate its parts
	parts int    // parts of the key being read
}

// step consumes one token and returns a message when a limit is passed.
func (s *scanner) step(max int) string {
	c := s.data[s.i]
	switch {
	case c == '\n':
		s.line++
		s.i++
		if len(s.stack) == 0 {
			s.startKey()
		}
	case c == '#':
		for s.i < len(s.data) && s.data[s.i] != '\n' {
			s.i++
		}
	case c == '"' || c == '\'':
		s.skipString(c)
	case c == '[' || c == '{':
		s.stack = append(s.stack, c)
		s.i++
		if len(s.stack) > max {
			return fmt.Sprintf("arrays and inline tables nest more than %d deep", max)
		}
		if c == '{' || s.key { // a table header's name, or an inline table's first key
			s.startKey()
		}
	case c == ']' || c == '}':
		if len(s.stack) > 0 {
			s.stack = s.stack[:len(s.stack)-1]
		}
		s.key = false
		s.i++
	case c == '=':
		s.key = false
		s.i++
	case c == ',':
		if n := len(s.stack); n > 0 && s.stack[n-1] == '{' {
			s.startKey()
		}
		s.i++
	case c == '.' && s.key:
		s.parts++
		s.i++
		if s.parts > max {
			return fmt.Sprintf("a dotted key has more than %d parts", max)
		}
	default:
		s.i++
	}
	return ""
}

func (s *scanner) startKey() { s.key, s.parts = true, 1 }

// skipString skips a basic or literal string, single- or multi-line,
// counting the lines it spans.
func (s *scanner) skipString(q byte) {
	d := s.data
	multi := s.i+2 < len(d) && d[s.i+1] == q && d[s.i+2] == q
	if multi {
		s.i += 3
	} else {
		s.i++
	}
	for s.i < len(d) {
		c := d[s.i]
		switch {
		case c == '\\' && q == '"':
			s.i++
			if s.i < len(d) && d[s.i] == '\n' {
				s.line++
			}
		case c == '\n':
			s.line++
			if !multi {
				s.i++
				return // unterminated: the decoder reports it
			}
		case c == q && !multi:
			s.i++
			return
		case c == q && s.i+2 < len(d) && d[s.i+1] == q && d[s.i+2] == q:
			s.i += 3
			for s.i < len(d) && d[s.i] == q { // up to two more quotes belong to the string
				s.i++
			}
			return
		}
		s.i++
	}
}
