package config

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// masked is what WriteResolved shows instead of a secret.
const masked = "****"

// WriteResolved writes the configuration as `ota-agent config check` shows
// it: valid TOML with every default filled in, only the keys each component
// type uses, and secrets masked. Each secret appears as a comment such as
// `# token = "****" (32 bytes from token_file)`, never its value, so the
// output loads again with Load to the same Config.
func (c *Config) WriteResolved(w io.Writer) error {
	out := struct {
		Device     Device           `toml:"device"`
		Server     Server           `toml:"server"`
		Policy     Policy           `toml:"policy"`
		Download   Download         `toml:"download"`
		Security   Security         `toml:"security"`
		Components []map[string]any `toml:"component"`
	}{Device: c.Device, Server: c.Server, Policy: c.Policy, Download: c.Download, Security: c.Security}
	for i := range c.Components {
		out.Components = append(out.Components, componentMap(&c.Components[i]))
	}
	var buf bytes.Buffer
	enc := toml.NewEncoder(&buf)
	enc.Indent = ""
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("encode resolved configuration: %w", err)
	}
	bw := bufio.NewWriter(w)
	if c.Path != "" {
		fmt.Fprintf(bw, "# resolved from %s: defaults filled in, secrets masked\n", c.Path)
	}
	if err := c.maskSecrets(bw, &buf); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write resolved configuration: %w", err)
	}
	return nil
}

// maskSecrets copies the encoded TOML, adding a masked comment after each
// *_file key that holds a secret.
func (c *Config) maskSecrets(w io.Writer, src *bytes.Buffer) error {
	secrets := map[string]string{
		"token_file":             c.Server.MXChip.Token,
		"secret_key_file":        c.Server.UpgradeLink.SecretKey,
		"access_key_secret_file": c.Server.Aliyun.AccessKeySecret,
		"target_token_file":      c.Server.Hawkbit.Token,
		"gateway_token_file":     c.Server.Hawkbit.Token,
	}
	sc := bufio.NewScanner(src)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if _, err := io.WriteString(w, line+"\n"); err != nil {
			return fmt.Errorf("write resolved configuration: %w", err)
		}
		key, _, ok := strings.Cut(line, " = ")
		if s, found := secrets[key]; ok && found && s != "" {
			name := strings.TrimSuffix(key, "_file")
			fmt.Fprintf(w, "# %s = %q (%d bytes from %s)\n", name, masked, len(s), key)
		}
	}
	return sc.Err()
}

// componentMap returns the keys of c that apply to its type: non-empty
// values, and the numeric keys of the type even when zero (an esp offset
// of 0 must not come back as the default 0x10000).
func componentMap(c *Component) map[string]any {
	m := map[string]any{}
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	for i := range t.NumField() {
		tag := strings.Split(t.Field(i).Tag.Get("toml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		if !slices.Contains(commonKeys, tag) && !slices.Contains(typeKeys[c.Type], tag) {
			continue
		}
		f := v.Field(i)
		numeric := f.Kind() == reflect.Int || f.Kind() == reflect.Uint64
		if f.IsZero() && !(numeric && slices.Contains(typeKeys[c.Type], tag)) {
			continue
		}
		m[tag] = f.Interface()
	}
	return m
}
