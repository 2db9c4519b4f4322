// Package config reads the agent's TOML configuration (SPEC §8).
package config

import (
	"time"
)

// DefaultPath is where the agent looks without -c.
const DefaultPath = "/etc/ota-agent/agent.toml"

// Duration is a time.Duration written as a Go duration string ("6h", "30s").
type Duration struct{ time.Duration }

// Config is the whole configuration file.
type Config struct {
	Device     Device      `toml:"device"`
	Server     Server      `toml:"server"`
	Policy     Policy      `toml:"policy"`
	Download   Download    `toml:"download"`
	Security   Security    `toml:"security"`
	Components []Component `toml:"component"`

	// Path is the file the configuration was read from.
	Path string `toml:"-"`
}

// Device is [device].
type Device struct {
	ID       string `toml:"id"`
	Model    string `toml:"model"`
	StateDir string `toml:"state_dir"`
}

// Server is [server] and its per-API tables.
type Server struct {
	API          string   `toml:"api"` // akaso | mxchip | upgradelink | aliyun | hawkbit
	BaseURL      string   `toml:"base_url"`
	PollInterval Duration `toml:"poll_interval"`
	PollJitter   Duration `toml:"poll_jitter"`
	Timeout      Duration `toml:"timeout"`
	InsecureHTTP bool     `toml:"insecure_http"`
	CAFile       string   `toml:"ca_file"`
	ClientCert   string   `toml:"client_cert"`
	ClientKey    string   `toml:"client_key"`

	Akaso       Akaso       `toml:"akaso"`
	MXChip      MXChip      `toml:"mxchip"`
	UpgradeLink UpgradeLink `toml:"upgradelink"`
	Aliyun      Aliyun      `toml:"aliyun"`
	Hawkbit     Hawkbit     `toml:"hawkbit"`
}

// Akaso is [server.akaso].
type Akaso struct {
	Language  string `toml:"language"`
	Component string `toml:"component"`
}

// MXChip is [server.mxchip].
type MXChip struct {
	ProductID     string `toml:"product_id"`
	TokenFile     string `toml:"token_file"`
	MCUComponent  string `toml:"mcu_component"`
	WiFiComponent string `toml:"wifi_component"`
	// WiFiVersion and MCUVersion are sent for a module no component
	// manages (wifi_component or mcu_component unset); "" sends "0".
	WiFiVersion string `toml:"wifi_version"`
	MCUVersion  string `toml:"mcu_version"`

	Token string `toml:"-"` // read from TokenFile; secret
}

// UpgradeLink is [server.upgradelink].
type UpgradeLink struct {
	AccessKey     string `toml:"access_key"`
	SecretKeyFile string `toml:"secret_key_file"`
	Kind          string `toml:"kind"` // configuration | file | url | lnx
	Key           string `toml:"key"`
	Arch          string `toml:"arch"`
	Component     string `toml:"component"`
	// AppointVersionCode pins the target versionCode the server should
	// offer; 0 asks for the latest.
	AppointVersionCode int64 `toml:"appoint_version_code"`

	SecretKey string `toml:"-"` // read from SecretKeyFile; secret
}

// Aliyun is [server.aliyun].
type Aliyun struct {
	Endpoint            string            `toml:"endpoint"`
	Region              string            `toml:"region"`
	AccessKeyID         string            `toml:"access_key_id"`
	AccessKeySecretFile string            `toml:"access_key_secret_file"`
	ProductKey          string            `toml:"product_key"`
	AcceptStatus        []int             `toml:"accept_status"`
	Modules             map[string]string `toml:"modules"`         // ModuleName → component
	IotInstanceID       string            `toml:"iot_instance_id"` // enterprise instances; "" = the public instance

	AccessKeySecret string `toml:"-"` // read from AccessKeySecretFile; secret
}

// Policy is [policy] (SPEC §3).
type Policy struct {
	VersionScheme      string   `toml:"version_scheme"` // auto | semver | date | numeric | opaque
	AllowDowngrade     bool     `toml:"allow_downgrade"`
	DefaultUpgradeType string   `toml:"default_upgrade_type"` // prompt | silent | forced
	Prompt             string   `toml:"prompt"`               // hold | apply | skip
	PromptTimeout      Duration `toml:"prompt_timeout"`       // 0 = wait for approve
	Window             Window   `toml:"window"`               // "02:00-05:00" local time, "" = any time
	MaxAttempts        int      `toml:"max_attempts"`
	// Unorderable is what happens to an offer that cannot be ordered
	// against the current version while allow_downgrade is false: "skip"
	// (the default) or "hold" (wait for ota-agent approve).
	Unorderable string `toml:"unorderable"`
}

// Download is [download] (SPEC §4).
type Download struct {
	StallTimeout Duration `toml:"stall_timeout"`
	MaxRetries   int      `toml:"max_retries"`
	Budget       float64  `toml:"budget"`
	// MinRate is the slowest average transfer rate (bytes per second over
	// MinRateWindow) an attempt may keep; 0 turns the check off.
	MinRate       Bytes    `toml:"min_rate"`
	MinRateWindow Duration `toml:"min_rate_window"`
	// TimeBudget bounds the wall-clock time one version's download may take
	// across attempts; 0 = no bound.
	TimeBudget Duration `toml:"time_budget"`
	// MaxSize caps a download whose size is not known and every image
	// unpacked into staging (an ab image is capped by its slot instead).
	MaxSize Bytes `toml:"max_size"`
	// KeepMax caps the space the kept images (the last good image of each
	// serial and file component, for rollback) may take under state_dir.
	KeepMax Bytes `toml:"keep_max"`
	// AllowUnverified lets an image be flashed or armed when no digest
	// (offer, manifest) and no signature was checked. Off by default.
	AllowUnverified bool `toml:"allow_unverified"`
}

// Restorable reports whether c keeps its last good image for rollback.
func (c *Component) Restorable() bool {
	return c.Type != KindAB && (c.Rollback == nil || *c.Rollback)
}

// Kind is a component type: how its image is flashed. Persisted in
// configuration files; never rename.
type Kind string

// The component kinds (SPEC §1).
const (
	KindAB     Kind = "ab"
	KindSTM32  Kind = "stm32"
	KindYModem Kind = "ymodem"
	KindESP    Kind = "esp"
	KindFile   Kind = "file"
)

// Component is one [[component]]. Which fields apply depends on Type.
type Component struct {
	Name           string   `toml:"name"`
	Type           Kind     `toml:"type"` // ab | stm32 | ymodem | esp | file
	Version        string   `toml:"version"`
	VersionCommand []string `toml:"version_command"`
	// Rollback keeps this serial or file component's last good image so
	// that a failed update puts it back (SPEC §12); unset = true.
	Rollback *bool `toml:"rollback"`

	AB *AB `toml:"ab"` // type ab

	// Serial types (stm32, ymodem, esp).
	Port         string   `toml:"port"`
	Baud         int      `toml:"baud"`
	Enter        string   `toml:"enter"`         // stm32flash -i syntax, e.g. "-rts&-dtr,dtr:rts&-dtr,dtr"
	EnterCommand []string `toml:"enter_command"` // a command that puts the device in its bootloader
	Address      Hex      `toml:"address"`       // stm32 flash address; default 0x08000000
	Verify       string   `toml:"verify"`        // stm32: readback | checksum | none
	CLI          string   `toml:"cli"`           // ymodem: none | mxchip
	Command      string   `toml:"command"`       // ymodem CLI command, e.g. FWUPDATE
	Chip         string   `toml:"chip"`          // esp: esp32 | ...
	Offset       Hex      `toml:"offset"`        // esp flash offset; default 0x10000

	// type file.
	Path        string   `toml:"path"`
	Mode        string   `toml:"mode"` // octal string, e.g. "0644"
	PostInstall []string `toml:"post_install"`
}

// AB is [component.ab] (SPEC §5).
type AB struct {
	Slots       map[string]string `toml:"slots"`      // slot name → device or file
	Bootloader  string            `toml:"bootloader"` // uboot | grub
	EnvConfig   string            `toml:"env_config"` // fw_env.config
	GrubEnv     string            `toml:"grubenv"`
	Scheme      string            `toml:"scheme"` // rauc | mender
	Attempts    int               `toml:"attempts"`
	CmdlineFile string            `toml:"cmdline_file"`
	Reboot      []string          `toml:"reboot"`
	Health      [][]string        `toml:"health"`

	GrubLayout string         `toml:"grubenv_layout"` // single | mender (grubenv is then grub-mender-grubenv's directory); "" = single
	Partitions map[string]int `toml:"partitions"`     // mender: slot → partition number; nil = from the devices
	// LockFile is the U-Boot environment's flock, shared with fw_printenv
	// and fw_setenv; "" = /var/lock/fw_printenv.lock (libubootenv's).
	LockFile string `toml:"lock_file"`
	// SkipUnchanged leaves alone the blocks of the inactive slot that
	// already hold the new image's bytes (compared with O_DIRECT reads).
	SkipUnchanged bool `toml:"skip_unchanged"`
}
