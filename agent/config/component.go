package config

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"ota-agent/platform/serial"
)

var (
	componentTypes = []string{string(KindAB), string(KindSTM32), string(KindYModem), string(KindESP), string(KindFile)}
	bootloaders    = []string{"uboot", "grub"}
	abSchemes      = []string{"rauc", "mender"}
	grubLayouts    = []string{"single", "mender"}
	stm32Verify    = []string{"readback", "checksum", "none"}
	ymodemCLIs     = []string{"none", "mxchip"}
	espChips       = []string{"esp8266", "esp32", "esp32s2", "esp32s3", "esp32c2", "esp32c3", "esp32c6", "esp32h2"}

	reName     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	reSlotName = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
)

// typeKeys lists, per component type, the keys that apply besides the
// common ones; any other key set in the file is refused by name.
var typeKeys = map[Kind][]string{
	KindAB:     {"ab"},
	KindSTM32:  {"port", "baud", "enter", "enter_command", "address", "verify"},
	KindYModem: {"port", "baud", "enter", "enter_command", "cli", "command"},
	KindESP:    {"port", "baud", "enter", "enter_command", "chip", "offset"},
	KindFile:   {"path", "mode", "post_install"},
}

var commonKeys = []string{"name", "type", "version", "version_command", "rollback"}

// Component returns the component named name, or nil.
func (c *Config) Component(name string) *Component {
	for i := range c.Components {
		if c.Components[i].Name == name {
			return &c.Components[i]
		}
	}
	return nil
}

// FileMode returns the permission bits of a file component's mode
// ("0644" → 0o644); 0o644 when unset or invalid (Load refuses invalid ones).
func (c *Component) FileMode() fs.FileMode {
	v, err := strconv.ParseUint(c.Mode, 8, 32)
	if err != nil || v > 0o777 {
		return 0o644
	}
	return fs.FileMode(v)
}

// compErr names field of component i in an *Error.
func (l *loader) compErr(i int, c *Component, field, msg string, args ...any) *Error {
	return &Error{
		File: l.file,
		Line: l.src.line(componentPath(i, field)),
		Key:  componentKey(i, c.Name, field),
		Msg:  fmt.Sprintf(msg, args...),
	}
}

func (l *loader) checkComponents(c *Config) *Error {
	if len(c.Components) == 0 {
		return &Error{File: l.file, Key: "component", Msg: "none configured (add a [[component]] for each part the agent updates)"}
	}
	seen := map[string]bool{}
	for i := range c.Components {
		comp := &c.Components[i]
		if err := l.checkComponent(i, comp); err != nil {
			return err
		}
		if seen[comp.Name] {
			return l.compErr(i, comp, "name", "%q is used by another component (names must be unique)", comp.Name)
		}
		seen[comp.Name] = true
	}
	return nil
}

func (l *loader) checkComponent(i int, c *Component) *Error {
	switch {
	case c.Name == "":
		return l.compErr(i, c, "name", "is required (e.g. \"rootfs\")")
	case !reName.MatchString(c.Name):
		return l.compErr(i, c, "name", "%q is not allowed (use letters, digits, '-', '_' and '.')", c.Name)
	case c.Type == "":
		return l.compErr(i, c, "type", "is required (use one of %s)", strings.Join(componentTypes, ", "))
	}
	if m := oneOf(string(c.Type), componentTypes); m != "" {
		return l.compErr(i, c, "type", "%s", m)
	}
	if err := l.checkVersionSource(i, c); err != nil {
		return err
	}
	if err := l.checkTypeKeys(i, c); err != nil {
		return err
	}
	switch c.Type {
	case KindAB:
		return l.checkAB(i, c)
	case KindFile:
		return l.checkFile(i, c)
	}
	return l.checkSerial(i, c)
}

func (l *loader) checkVersionSource(i int, c *Component) *Error {
	switch {
	case c.Version == "" && len(c.VersionCommand) == 0:
		return l.compErr(i, c, "version", "set version (e.g. \"1.0.0\") or version_command (e.g. [\"cat\", \"/etc/fw-version\"])")
	case c.Version != "" && len(c.VersionCommand) > 0:
		return l.compErr(i, c, "version_command", "set version or version_command, not both")
	case len(c.VersionCommand) > 0 && c.VersionCommand[0] == "":
		return l.compErr(i, c, "version_command", "the program name is empty")
	}
	return nil
}

// checkTypeKeys refuses keys set in the file that do not apply to the type.
func (l *loader) checkTypeKeys(i int, c *Component) *Error {
	prefix := componentPath(i, "")
	for _, p := range l.order {
		field, ok := strings.CutPrefix(p, prefix)
		if !ok {
			continue
		}
		field, _, _ = strings.Cut(field, ".")
		if !slices.Contains(commonKeys, field) && !slices.Contains(typeKeys[c.Type], field) {
			return l.compErr(i, c, field, "does not apply to type %q (it takes %s)", c.Type, strings.Join(typeKeys[c.Type], ", "))
		}
	}
	return nil
}

func (l *loader) checkAB(i int, c *Component) *Error {
	ab := c.AB
	if ab == nil {
		return l.compErr(i, c, "ab", "type ab needs a [component.ab] table with slots, bootloader and scheme")
	}
	if len(ab.Slots) != 2 {
		return l.compErr(i, c, "ab.slots", "has %d slot(s), want exactly two (e.g. { A = \"/dev/mmcblk0p2\", B = \"/dev/mmcblk0p3\" })", len(ab.Slots))
	}
	for name, dev := range ab.Slots {
		if !reSlotName.MatchString(name) {
			return l.compErr(i, c, "ab.slots", "slot name %q is not allowed (use letters, digits and '_', e.g. A and B)", name)
		}
		if !filepath.IsAbs(dev) {
			return l.compErr(i, c, "ab.slots", "slot %s: %q is not an absolute path (e.g. \"/dev/mmcblk0p2\")", name, dev)
		}
	}
	if ab.Slots[slotNames(ab)[0]] == ab.Slots[slotNames(ab)[1]] {
		return l.compErr(i, c, "ab.slots", "both slots are %q; they must be different devices", ab.Slots[slotNames(ab)[0]])
	}
	return l.checkABBoot(i, c)
}

// slotNames returns the slot names of ab, sorted.
func slotNames(ab *AB) []string {
	names := make([]string, 0, len(ab.Slots))
	for n := range ab.Slots {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func (l *loader) checkABBoot(i int, c *Component) *Error {
	ab := c.AB
	if m := oneOf(ab.Bootloader, bootloaders); m != "" {
		return l.compErr(i, c, "ab.bootloader", "%s", m)
	}
	switch {
	case ab.Bootloader == "uboot" && !filepath.IsAbs(ab.EnvConfig):
		return l.compErr(i, c, "ab.env_config", "bootloader uboot needs the absolute path of fw_env.config (e.g. \"/etc/fw_env.config\")")
	case ab.Bootloader == "grub" && !filepath.IsAbs(ab.GrubEnv):
		return l.compErr(i, c, "ab.grubenv", "bootloader grub needs the absolute path of grubenv (e.g. \"/boot/grub/grubenv\")")
	case ab.Attempts < 1:
		return l.compErr(i, c, "ab.attempts", "%d is not allowed (use 1 or more boot attempts)", ab.Attempts)
	case ab.Attempts > 9: // as flasher/ab.New
		return l.compErr(i, c, "ab.attempts", "%d is not allowed (use 1 to 9 boot attempts; U-Boot counts them in one digit)", ab.Attempts)
	case !filepath.IsAbs(ab.CmdlineFile):
		return l.compErr(i, c, "ab.cmdline_file", "%q is not an absolute path (e.g. %q)", ab.CmdlineFile, DefaultCmdlineFile)
	case ab.LockFile != "" && !filepath.IsAbs(ab.LockFile):
		return l.compErr(i, c, "ab.lock_file", "%q is not an absolute path (e.g. \"/var/lock/fw_printenv.lock\", libubootenv's)", ab.LockFile)
	case len(ab.Reboot) > 0 && ab.Reboot[0] == "":
		return l.compErr(i, c, "ab.reboot", "the program name is empty (e.g. [\"systemctl\", \"reboot\"], or [] to reboot by hand)")
	}
	if m := oneOf(ab.Scheme, abSchemes); m != "" {
		return l.compErr(i, c, "ab.scheme", "%s", m)
	}
	if e := l.checkABMender(i, c); e != nil {
		return e
	}
	for n, h := range ab.Health {
		if len(h) == 0 || h[0] == "" {
			return l.compErr(i, c, "ab.health", "command %d is empty (e.g. [\"/usr/bin/systemctl\", \"is-system-running\", \"--wait\"])", n+1)
		}
	}
	return nil
}

// checkABMender checks grubenv_layout and partitions, which only
// scheme mender uses (as flasher/ab.New).
func (l *loader) checkABMender(i int, c *Component) *Error {
	ab := c.AB
	if ab.GrubLayout != "" {
		if m := oneOf(ab.GrubLayout, grubLayouts); m != "" {
			return l.compErr(i, c, "ab.grubenv_layout", "%s", m)
		}
		if ab.GrubLayout == "mender" && (ab.Bootloader != "grub" || ab.Scheme != "mender") {
			return l.compErr(i, c, "ab.grubenv_layout", "\"mender\" (grub-mender-grubenv) needs bootloader grub and scheme mender, not %s and %s", ab.Bootloader, ab.Scheme)
		}
	}
	if ab.Partitions == nil {
		return nil
	}
	if ab.Scheme != "mender" {
		return l.compErr(i, c, "ab.partitions", "applies only to scheme mender (remove it for %s)", ab.Scheme)
	}
	return l.checkPartitions(i, c)
}

// checkPartitions wants one distinct number 1..999 per slot.
func (l *loader) checkPartitions(i int, c *Component) *Error {
	ab, seen := c.AB, map[int]string{}
	for _, s := range slotNames(ab) {
		n, ok := ab.Partitions[s]
		switch {
		case !ok:
			return l.compErr(i, c, "ab.partitions", "has no number for slot %s (e.g. { A = 2, B = 3 })", s)
		case n < 1 || n > 999:
			return l.compErr(i, c, "ab.partitions", "slot %s: %d is not allowed (use a partition number 1..999)", s, n)
		case seen[n] != "":
			return l.compErr(i, c, "ab.partitions", "slots %s and %s both have partition %d", seen[n], s, n)
		}
		seen[n] = s
	}
	if len(ab.Partitions) != len(ab.Slots) {
		return l.compErr(i, c, "ab.partitions", "names a slot that is not in slots %v", slotNames(ab))
	}
	return nil
}

func (l *loader) checkSerial(i int, c *Component) *Error {
	switch {
	case c.Port == "":
		return l.compErr(i, c, "port", "is required (e.g. \"/dev/ttyS1\")")
	case c.Baud <= 0:
		return l.compErr(i, c, "baud", "%d is not allowed (use a positive rate, e.g. 115200)", c.Baud)
	case c.Enter != "" && len(c.EnterCommand) > 0:
		return l.compErr(i, c, "enter_command", "set enter or enter_command, not both")
	case len(c.EnterCommand) > 0 && c.EnterCommand[0] == "":
		return l.compErr(i, c, "enter_command", "the program name is empty")
	}
	var key, m string
	switch c.Type {
	case KindSTM32:
		key, m = "verify", oneOf(c.Verify, stm32Verify)
		if m == "" {
			key, m = checkSTM32(c)
		}
	case KindYModem:
		key, m = "cli", oneOf(c.CLI, ymodemCLIs)
		if m == "" && c.CLI == "none" && c.Command != "" {
			key, m = "command", "applies only with cli = \"mxchip\""
		}
		if m == "" && c.CLI == "mxchip" && !reMXChipCommand.MatchString(strings.Join(strings.Fields(strings.ToUpper(c.Command)), " ")) {
			key, m = "command", fmt.Sprintf("%q is not allowed (use FWUPDATE, DRIVERUPDATE, BOOTUPDATE or PARUPDATE -id N)", c.Command)
		}
	case KindESP:
		key, m = "chip", oneOf(c.Chip, espChips)
	}
	if m == "" {
		key, m = checkEnter(c)
	}
	if m != "" {
		return l.compErr(i, c, key, "%s", m)
	}
	return nil
}

// reMXChipCommand is what flasher/ymodem.NewTarget accepts as the MXChip
// CLI command, upper-cased with single spaces.
var reMXChipCommand = regexp.MustCompile(`^(FWUPDATE|DRIVERUPDATE|BOOTUPDATE|PARUPDATE -ID [0-9]+)$`)

// checkSTM32 refuses the baud rates and flash addresses that
// flasher/stm32.NewTarget refuses; it returns the key and the message.
func checkSTM32(c *Component) (string, string) {
	switch {
	case c.Baud < 1200 || c.Baud > 4000000:
		return "baud", fmt.Sprintf("%d is not allowed (use 1200 to 4000000; most STM32 bootloaders take at most 115200)", c.Baud)
	case c.Address != 0 && (c.Address < 0x08000000 || c.Address%4 != 0):
		return "address", fmt.Sprintf("%#x is not allowed (use a 4-aligned flash address, 0x08000000 and up)", uint64(c.Address))
	}
	return "", ""
}

// checkEnter parses enter as the serial targets do: an stm32flash -i
// sequence, or for esp also classic, tight or none.
func checkEnter(c *Component) (string, string) {
	if c.Type == KindESP {
		switch c.Enter {
		case "", "none", "classic", "tight":
			return "", ""
		}
		if _, _, err := serial.ParseSequences(c.Enter); err != nil {
			return "enter", fmt.Sprintf("%q is not allowed (use classic, tight, none or an stm32flash -i sequence: %v)", c.Enter, err)
		}
		return "", ""
	}
	if _, _, err := serial.ParseSequences(c.Enter); err != nil {
		return "enter", err.Error()
	}
	return "", ""
}

func (l *loader) checkFile(i int, c *Component) *Error {
	if !filepath.IsAbs(c.Path) {
		return l.compErr(i, c, "path", "%q is not an absolute path (e.g. \"/etc/app/remote.json\")", c.Path)
	}
	v, err := strconv.ParseUint(c.Mode, 8, 32)
	if err != nil || v > 0o777 {
		return l.compErr(i, c, "mode", "%q is not an octal mode up to 0777 (e.g. \"0644\")", c.Mode)
	}
	if len(c.PostInstall) > 0 && c.PostInstall[0] == "" {
		return l.compErr(i, c, "post_install", "the program name is empty")
	}
	return nil
}
