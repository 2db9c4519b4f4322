package config

import (
	"strconv"
	"time"
)

// Defaults for what SPEC §8 leaves optional.
const (
	DefaultStateDir             = "/var/lib/ota-agent"
	DefaultPollInterval         = 6 * time.Hour
	DefaultPollJitter           = 30 * time.Minute
	DefaultTimeout              = 30 * time.Second
	DefaultVersionScheme        = "auto"
	DefaultUpgradeType          = "silent"
	DefaultPrompt               = "hold"
	DefaultUnorderable          = "skip"
	DefaultMaxAttempts          = 3
	DefaultStallTimeout         = 60 * time.Second
	DefaultMaxRetries           = 8
	DefaultBudget               = 3.0
	DefaultMinRate        Bytes = 1 << 10
	DefaultMinRateWindow        = 60 * time.Second
	DefaultTimeBudget           = 6 * time.Hour
	DefaultMaxSize        Bytes = 4 << 30
	DefaultKeepMax        Bytes = 64 << 20
	DefaultABAttempts           = 3
	DefaultCmdlineFile          = "/proc/cmdline"
	DefaultBaud                 = 115200
	DefaultSTM32Verify          = "readback"
	DefaultSTM32Address   Hex   = 0x08000000
	DefaultYModemCLI            = "none"
	DefaultMXChipCommand        = "FWUPDATE"
	DefaultESPChip              = "esp32"
	DefaultESPOffset      Hex   = 0x10000
	DefaultFileMode             = "0644"
	DefaultAkasoLanguage        = "EN"
	DefaultUpgradeLinkURL       = "https://api.upgrade.toolsetlink.com"
)

func defaultDevice() Device { return Device{StateDir: DefaultStateDir} }

func defaultServer() Server {
	return Server{
		PollInterval: Duration{DefaultPollInterval},
		PollJitter:   Duration{DefaultPollJitter},
		Timeout:      Duration{DefaultTimeout},
		Akaso:        Akaso{Language: DefaultAkasoLanguage},
		Aliyun:       Aliyun{AcceptStatus: []int{1, -1}},
	}
}

func defaultPolicy() Policy {
	return Policy{
		VersionScheme:      DefaultVersionScheme,
		DefaultUpgradeType: DefaultUpgradeType,
		Prompt:             DefaultPrompt,
		Unorderable:        DefaultUnorderable,
		MaxAttempts:        DefaultMaxAttempts,
	}
}

func defaultDownload() Download {
	return Download{
		StallTimeout:  Duration{DefaultStallTimeout},
		MaxRetries:    DefaultMaxRetries,
		Budget:        DefaultBudget,
		MinRate:       DefaultMinRate,
		MinRateWindow: Duration{DefaultMinRateWindow},
		TimeBudget:    Duration{DefaultTimeBudget},
		MaxSize:       DefaultMaxSize,
		KeepMax:       DefaultKeepMax,
	}
}

// componentDefaults fills what each component type leaves optional. Zero
// values the file sets explicitly (baud = 0) are kept, so that validation
// can refuse them by name.
func (l *loader) componentDefaults(c *Config) {
	for i := range c.Components {
		comp := &c.Components[i]
		set := func(key string) bool { return l.defined[componentPath(i, key)] }
		switch comp.Type {
		case KindSTM32, KindYModem, KindESP:
			if !set("baud") {
				comp.Baud = DefaultBaud
			}
		}
		switch comp.Type {
		case KindAB:
			abDefaults(comp.AB, set)
		case KindSTM32:
			comp.Verify = or(comp.Verify, DefaultSTM32Verify)
			if !set("address") {
				comp.Address = DefaultSTM32Address
			}
		case KindYModem:
			comp.CLI = or(comp.CLI, DefaultYModemCLI)
			if comp.CLI == "mxchip" {
				comp.Command = or(comp.Command, DefaultMXChipCommand)
			}
		case KindESP:
			comp.Chip = or(comp.Chip, DefaultESPChip)
			if !set("offset") {
				comp.Offset = DefaultESPOffset
			}
		case KindFile:
			comp.Mode = or(comp.Mode, DefaultFileMode)
		}
	}
	if c.Server.API == "aliyun" && c.Server.Aliyun.Endpoint == "" && c.Server.Aliyun.Region != "" {
		c.Server.Aliyun.Endpoint = "https://iot." + c.Server.Aliyun.Region + ".aliyuncs.com"
	}
	if c.Server.API == "upgradelink" && c.Server.BaseURL == "" {
		c.Server.BaseURL = DefaultUpgradeLinkURL
	}
}

func abDefaults(ab *AB, set func(string) bool) {
	if ab == nil {
		return
	}
	if !set("ab.attempts") {
		ab.Attempts = DefaultABAttempts
	}
	ab.CmdlineFile = or(ab.CmdlineFile, DefaultCmdlineFile)
}

func componentPath(i int, key string) string {
	return "component." + strconv.Itoa(i) + "." + key
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
