package ubootenv

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// DefaultConfigFile is where fw_printenv looks for its configuration.
const DefaultConfigFile = "/etc/fw_env.config"

// Device is one line of fw_env.config: where one copy of the environment is.
type Device struct {
	Path        string // file, block device, /dev/mtdN or /dev/ubiX:name
	Offset      int64  // bytes; negative counts from the end of a block device
	Size        int64  // environment size in bytes (ENV_SIZE), per copy
	SectorSize  int64  // erase sector size in bytes; 0 when not given
	Sectors     int64  // number of sectors; 0 when not given
	DisableLock bool   // sixth column (libubootenv 0.3.3+): skip the flock
}

// Config is a parsed fw_env.config: one device line for a single
// environment, two for a redundant pair.
type Config struct {
	Devices []Device
}

// Redundant reports whether the configuration names a redundant pair.
func (c Config) Redundant() bool { return len(c.Devices) == 2 }

// LoadConfig reads and parses the fw_env.config at path.
func LoadConfig(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("open u-boot env config: %w", err)
	}
	defer f.Close()
	cfg, err := ParseConfig(f)
	if err != nil {
		return Config{}, fmt.Errorf("u-boot env config %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig parses the legacy fw_env.config format as libubootenv reads it
// with sscanf("%ms %lli %zx %zx %lx %d"): device, offset (C integer syntax:
// 0x hex, leading 0 octal, else decimal, may be negative), env size and
// sector size (hex, with or without 0x), number of sectors (hex) and the
// disable-lock flag (decimal). Lines whose first character is '#' and blank
// lines are skipped; a field starting with '#' ends its line. One line means
// a single environment, two a redundant pair of equal size.
func ParseConfig(r io.Reader) (Config, error) {
	var cfg Config
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64*1024)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		d, err := parseDevice(line)
		if err != nil {
			return Config{}, fmt.Errorf("line %d: %w", n, err)
		}
		cfg.Devices = append(cfg.Devices, d)
	}
	if err := sc.Err(); err != nil {
		return Config{}, fmt.Errorf("read: %w", err)
	}
	return cfg, cfg.validate()
}

func (c Config) validate() error {
	switch len(c.Devices) {
	case 0:
		return errors.New("no device line; want \"DEVICE OFFSET ENV-SIZE\", e.g. \"/dev/mmcblk0 0x400000 0x4000\"")
	case 1:
		return nil
	case 2:
		if c.Devices[0].Size != c.Devices[1].Size {
			return fmt.Errorf("redundant copies differ in size: %#x and %#x, want equal", c.Devices[0].Size, c.Devices[1].Size)
		}
		return nil
	}
	return fmt.Errorf("%d device lines; at most 2 (a redundant pair) are allowed", len(c.Devices))
}

func parseDevice(line string) (Device, error) {
	var fields []string
	for _, f := range strings.Fields(line) {
		if strings.HasPrefix(f, "#") {
			break
		}
		fields = append(fields, f)
	}
	if len(fields) < 3 {
		return Device{}, fmt.Errorf("%q has %d fields, want at least DEVICE OFFSET ENV-SIZE", clip(line), len(fields))
	}
	if len(fields) > 6 {
		return Device{}, fmt.Errorf("%q has %d fields, want at most 6", clip(line), len(fields))
	}
	d := Device{Path: fields[0]}
	var err error
	if d.Offset, err = strconv.ParseInt(fields[1], 0, 64); err != nil {
		return Device{}, fmt.Errorf("offset %q: want a C integer (0x hex, 0 octal, decimal): %w", fields[1], err)
	}
	if d.Size, err = parseHex(fields[2], "env size"); err != nil {
		return Device{}, err
	}
	if d.Size <= redundantHeader+1 {
		return Device{}, fmt.Errorf("env size %#x is too small", d.Size)
	}
	return parseOptional(d, fields[3:])
}

func parseOptional(d Device, rest []string) (Device, error) {
	var err error
	if len(rest) > 0 {
		if d.SectorSize, err = parseHex(rest[0], "sector size"); err != nil {
			return Device{}, err
		}
	}
	if len(rest) > 1 {
		if d.Sectors, err = parseHex(rest[1], "sector count"); err != nil {
			return Device{}, err
		}
	}
	if len(rest) > 2 {
		v, err := strconv.ParseInt(rest[2], 10, 32)
		if err != nil {
			return Device{}, fmt.Errorf("disable-lock %q: want a decimal number: %w", rest[2], err)
		}
		d.DisableLock = v != 0
	}
	return d, nil
}

// parseHex reads a hex size as %zx does: optional 0x prefix, always base 16.
func parseHex(s, what string) (int64, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	v, err := strconv.ParseUint(t, 16, 63)
	if err != nil || t == "" {
		return 0, fmt.Errorf("%s %q: want a hex number, e.g. 0x4000", what, s)
	}
	return int64(v), nil
}
