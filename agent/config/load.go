package config

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// rawConfig is Config with the components left undecoded, so that each one
// is decoded on its own and an error can name its index.
type rawConfig struct {
	Device     Device           `toml:"device"`
	Server     Server           `toml:"server"`
	Policy     Policy           `toml:"policy"`
	Download   Download         `toml:"download"`
	Security   Security         `toml:"security"`
	Components []toml.Primitive `toml:"component"`
}

// loader carries what one Load needs to point errors at file lines.
type loader struct {
	file    string
	src     lines
	md      toml.MetaData
	defined map[string]bool // indexed key paths present in the file
	order   []string        // indexed key paths in file order
	plain   []string        // the same keys without indices
}

// Load reads, defaults and validates the configuration at path, and reads
// the secrets of the configured API. The error, if any, is a one-line
// *Error naming the file, line and key; the CLI prints it and exits 2.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read the configuration: %v (check the path given with -c)", err), Err: err}
	}
	return parse(path, data)
}

// parse is Load on bytes already read; file names the source in errors.
func parse(file string, data []byte) (c *Config, err error) {
	defer func() {
		if r := recover(); r != nil { // BurntSushi/toml panics on some malformed input
			c, err = nil, &Error{File: file, Msg: fmt.Sprintf("invalid TOML: %v", r)}
		}
	}()
	if msg, line := nestingError(data, maxNesting); msg != "" {
		return nil, &Error{File: file, Line: line, Msg: "invalid TOML: " + msg + " (the configuration needs at most 4; check the file is the agent's)"}
	}
	l := &loader{file: file, src: locate(string(data))}
	var probe map[string]any
	if _, err := toml.Decode(string(data), &probe); err != nil {
		return nil, l.syntaxError(err)
	}
	raw := rawConfig{Device: defaultDevice(), Server: defaultServer(), Policy: defaultPolicy(), Download: defaultDownload(), Security: defaultSecurity()}
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		return nil, l.valueError(err, -1, "")
	}
	l.index(md)
	cfg := &Config{Device: raw.Device, Server: raw.Server, Policy: raw.Policy, Download: raw.Download, Security: raw.Security, Path: file}
	for i, p := range raw.Components {
		var comp Component
		if err := md.PrimitiveDecode(p, &comp); err != nil {
			var named struct {
				Name string `toml:"name"`
			}
			_ = md.PrimitiveDecode(p, &named) // best effort, for the error's key
			return nil, l.valueError(err, i, named.Name)
		}
		cfg.Components = append(cfg.Components, comp)
	}
	if err := l.unknown(cfg); err != nil {
		return nil, err
	}
	l.componentDefaults(cfg)
	if err := l.validate(cfg); err != nil {
		return nil, err
	}
	if err := l.readSecrets(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// index records which keys the file defines, with array indices.
func (l *loader) index(md toml.MetaData) {
	l.md = md
	l.defined = map[string]bool{}
	comp := -1
	for _, k := range md.Keys() {
		if len(k) == 1 && k[0] == "component" {
			comp++
		}
		p := indexed(k, comp)
		l.defined[p] = true
		l.order = append(l.order, p)
		l.plain = append(l.plain, k.String())
	}
}

// indexed returns the dotted path of k with the component index inserted.
func indexed(k toml.Key, comp int) string {
	if len(k) > 0 && k[0] == "component" && comp >= 0 {
		return "component." + strconv.Itoa(comp) + strings.TrimPrefix(k.String(), "component")
	}
	return k.String()
}

// unknown returns an error for the first key nothing decoded.
func (l *loader) unknown(c *Config) error {
	und := map[string]bool{}
	for _, k := range l.md.Undecoded() {
		und[k.String()] = true
	}
	if len(und) == 0 {
		return nil
	}
	for i, p := range l.order {
		if und[l.plain[i]] {
			msg := "remove it or check its spelling against SPEC §8"
			if s := suggest(l.plain[i]); s != "" {
				msg = fmt.Sprintf("did you mean %q?", s)
			}
			return &Error{File: l.file, Line: l.src.line(p), Key: displayKey(p, c), Msg: msg, Err: ErrUnknownKey}
		}
	}
	return nil
}

// syntaxError turns a TOML parse error into an *Error with its line.
func (l *loader) syntaxError(err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return &Error{File: l.file, Line: pe.Position.Line, Msg: "invalid TOML: " + pe.Message, Err: err}
	}
	return &Error{File: l.file, Msg: "invalid TOML: " + err.Error(), Err: err}
}

var reDecode = regexp.MustCompile(`^toml: (?:line (\d+) )?\(last key "([^"]*)"\): (.*)$`)

// valueError turns a decode error (a value of the wrong type or format)
// into an *Error naming the key. comp is the component index, or -1.
func (l *loader) valueError(err error, comp int, name string) error {
	key, msg, line := "", err.Error(), 0
	var pe toml.ParseError
	if errors.As(err, &pe) {
		key, msg, line = pe.LastKey, pe.Message, pe.Position.Line
	} else if m := reDecode.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		key, msg = m[2], typeMessage(m[3])
	}
	if comp >= 0 {
		path := indexed(toml.Key(strings.Split(key, ".")), comp)
		line = l.src.line(path)
		key = componentKey(comp, name, strings.TrimPrefix(strings.TrimPrefix(key, "component"), "."))
	} else if line == 0 {
		line = l.src.line(key)
	}
	return &Error{File: l.file, Line: line, Key: key, Msg: msg, Err: err}
}

// typeMessage rewords BurntSushi's type mismatch message.
func typeMessage(s string) string {
	const pre = "incompatible types: TOML value has type "
	if have, want, ok := strings.Cut(strings.TrimPrefix(s, pre), "; destination has type "); ok && strings.HasPrefix(s, pre) {
		return fmt.Sprintf("is a TOML %s, want %s", have, want)
	}
	return s
}

// at returns an *Error for the key at the (indexed) path.
func (l *loader) at(path, msg string, args ...any) *Error {
	return &Error{File: l.file, Line: l.src.line(path), Key: displayKey(path, nil), Msg: fmt.Sprintf(msg, args...)}
}

// displayKey turns "component.1.ab.slots" into "component[mcu].ab.slots",
// or "component[#2].ab.slots" when c is nil or the component has no name.
func displayKey(path string, c *Config) string {
	rest, ok := strings.CutPrefix(path, "component.")
	if !ok {
		return path
	}
	idx, field, _ := strings.Cut(rest, ".")
	n, err := strconv.Atoi(idx)
	if err != nil {
		return path
	}
	name := ""
	if c != nil && n < len(c.Components) {
		name = c.Components[n].Name
	}
	return componentKey(n, name, field)
}

// componentKey names field of the component at index i (0-based):
// "component[mcu].baud", or "component[#2].baud" when it has no name.
func componentKey(i int, name, field string) string {
	k := "component[#" + strconv.Itoa(i+1) + "]"
	if name != "" {
		k = "component[" + name + "]"
	}
	if field != "" {
		k += "." + field
	}
	return k
}
