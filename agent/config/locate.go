package config

import (
	"strconv"
	"strings"
)

// lines maps keys to the line they are written on. BurntSushi/toml keeps key
// positions private, so the file is scanned here. Paths use the element
// index of arrays of tables: "component.1.port", "component.0.ab.slots".
// The scanner is deliberately forgiving: the file has already been parsed by
// the TOML decoder, and a key it cannot place simply has no line.
type lines struct {
	at map[string]int
}

// locate scans TOML text for table headers and key assignments.
func locate(src string) lines {
	l := lines{at: map[string]int{}}
	arrays := map[string]int{} // unindexed array-table path → current index
	prefix := ""
	depth, mlString := 0, ""
	for i, raw := range strings.Split(src, "\n") {
		n := i + 1
		line := raw
		if mlString != "" || depth > 0 {
			depth, mlString = scanValue(line, depth, mlString)
			continue
		}
		t := strings.TrimSpace(line)
		switch {
		case t == "" || t[0] == '#':
		case strings.HasPrefix(t, "[["):
			key := splitKey(strings.TrimSuffix(headerText(t[2:]), "]"))
			plain := strings.Join(key, ".")
			if _, ok := arrays[plain]; ok {
				arrays[plain]++
			} else {
				arrays[plain] = 0
			}
			prefix = indexPath(key, arrays)
			l.set(prefix, n)
		case t[0] == '[':
			prefix = indexPath(splitKey(headerText(t[1:])), arrays)
			l.set(prefix, n)
		default:
			k, rest, ok := strings.Cut(t, "=")
			if !ok {
				continue
			}
			path := strings.Join(splitKey(k), ".")
			if prefix != "" {
				path = prefix + "." + path
			}
			l.set(path, n)
			depth, mlString = scanValue(rest, 0, "")
		}
	}
	return l
}

// headerText returns the key text of a header line after its opening
// bracket(s), up to the closing bracket.
func headerText(s string) string {
	if i := strings.LastIndex(s, "]"); i >= 0 {
		s = s[:i]
	}
	return s
}

// indexPath joins key, inserting the current index after every prefix that
// is an array of tables.
func indexPath(key []string, arrays map[string]int) string {
	var plain, out []string
	for _, k := range key {
		plain = append(plain, k)
		out = append(out, k)
		if idx, ok := arrays[strings.Join(plain, ".")]; ok {
			out = append(out, strconv.Itoa(idx))
		}
	}
	return strings.Join(out, ".")
}

func (l lines) set(path string, n int) {
	if _, ok := l.at[path]; !ok {
		l.at[path] = n
	}
}

// line returns the line of path, or of its nearest parent that has one
// (an inline table's keys share the line of the table's key); 0 if none.
func (l lines) line(path string) int {
	for path != "" {
		if n, ok := l.at[path]; ok {
			return n
		}
		i := strings.LastIndex(path, ".")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// splitKey splits a dotted TOML key, honouring quoted parts.
func splitKey(s string) []string {
	var parts []string
	var cur strings.Builder
	quote := byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '"' || c == '\'':
			quote = c
		case c == '.':
			parts = append(parts, strings.TrimSpace(cur.String()))
			cur.Reset()
		case c == ' ' || c == '\t':
		default:
			cur.WriteByte(c)
		}
	}
	return append(parts, strings.TrimSpace(cur.String()))
}

// scanValue follows a value across lines: it returns the bracket depth and
// the open multi-line string delimiter (three double or single quotes) after s.
func scanValue(s string, depth int, ml string) (int, string) {
	for i := 0; i < len(s); i++ {
		if ml != "" {
			if strings.HasPrefix(s[i:], ml) {
				i += len(ml) - 1
				ml = ""
			} else if s[i] == '\\' && ml == `"""` {
				i++
			}
			continue
		}
		switch c := s[i]; {
		case strings.HasPrefix(s[i:], `"""`) || strings.HasPrefix(s[i:], `'''`):
			ml = s[i : i+3]
			i += 2
		case c == '"' || c == '\'':
			i = skipString(s, i)
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			if depth > 0 {
				depth--
			}
		case c == '#':
			return depth, ""
		}
	}
	return depth, ml
}

// skipString returns the index of the quote closing the string opened at i.
func skipString(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		if q == '"' && s[j] == '\\' {
			j++
			continue
		}
		if s[j] == q {
			return j
		}
	}
	return len(s)
}
