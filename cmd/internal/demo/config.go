package demo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ConfigOptions complete an agent.toml for a Device and a Server.
type ConfigOptions struct {
	StateDir string
	// Versions are the components' configured versions; missing ones are
	// "1.0.0" ("1" for upgradelink, whose versions are versionCode integers).
	Versions map[string]string
	// Policy and Download are extra lines for [policy] and [download],
	// e.g. `prompt = "hold"`.
	Policy, Download []string
	// MCUBaud, WiFiBaud and ESPBaud are the serial rates; 0 = 115200,
	// 115200 and 921600.
	MCUBaud, WiFiBaud, ESPBaud int
	// Components limits the [[component]] tables to these names (nil = all:
	// rootfs, mcu, wifi, radio, settings).
	Components []string
	// PublicKey, when set, is the one [security] key: every package must be
	// signed by it.
	PublicKey string
}

// WriteConfig writes the agent configuration for d and srv to path and
// returns it. Secrets go next to it.
func WriteConfig(path string, d *Device, srv Server, o ConfigOptions) error {
	names := o.Components
	if names == nil {
		names = []string{"rootfs", "mcu", "wifi", "radio", "settings"}
	}
	server, err := srv.TOML(filepath.Dir(path), names)
	if err != nil {
		return err
	}
	def := "1.0.0"
	if srv.API() == "upgradelink" {
		def = "1"
	}
	ver := func(name string) string {
		if v, ok := o.Versions[name]; ok {
			return v
		}
		return def
	}
	if o.MCUBaud == 0 {
		o.MCUBaud = 115200
	}
	if o.WiFiBaud == 0 {
		o.WiFiBaud = 115200
	}
	if o.ESPBaud == 0 {
		o.ESPBaud = 921600
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by ota-sim demo for a simulated board in %s.\n\n", d.Dir)
	fmt.Fprintf(&b, "[device]\nid = \"demo-cam-0001\"\nmodel = %q\nstate_dir = %q\n\n", Model, o.StateDir)
	// The fake servers listen on plain http://127.0.0.1.
	b.WriteString(strings.Replace(server, "\n\n[server.", "\ninsecure_http = true\n\n[server.", 1))
	b.WriteString("\n[policy]\n" + lines(o.Policy) + "\n[download]\nstall_timeout = \"5s\"\n" + lines(o.Download))
	if o.PublicKey != "" {
		fmt.Fprintf(&b, "\n[security]\npublic_keys = [%q]\n", o.PublicKey)
	}
	rc := d.Rig.Config
	comps := map[string]string{
		"rootfs": fmt.Sprintf("[[component]]\nname = \"rootfs\"\ntype = \"ab\"\nversion = %q\n[component.ab]\nslots = { A = %q, B = %q }\nbootloader = %q\nenv_config = %q\ngrubenv = %q\nscheme = %q\nattempts = %d\ncmdline_file = %q\nlock_file = %q\n",
			ver("rootfs"), rc.Slots["A"], rc.Slots["B"], rc.Bootloader, rc.EnvConfig, rc.GrubEnv, rc.Scheme, rc.Attempts, rc.CmdlineFile, rc.LockFile),
		"mcu": fmt.Sprintf("[[component]]\nname = \"mcu\"\ntype = \"stm32\"\nversion = %q\nport = %q\nbaud = %d\nenter_command = %s\naddress = 0x08000000\nverify = \"readback\"\n",
			ver("mcu"), d.MCUPort, o.MCUBaud, tomlList(d.ResetCommand())),
		"wifi": fmt.Sprintf("[[component]]\nname = \"wifi\"\ntype = \"ymodem\"\nversion = %q\nport = %q\nbaud = %d\nenter_command = %s\ncli = \"mxchip\"\ncommand = \"FWUPDATE\"\n",
			ver("wifi"), d.WiFiPort, o.WiFiBaud, tomlList(d.WiFiResetCommand())),
		"radio": fmt.Sprintf("[[component]]\nname = \"radio\"\ntype = \"esp\"\nversion = %q\nport = %q\nbaud = %d\nchip = \"esp32\"\noffset = 0x10000\n",
			ver("radio"), d.ESPPort, o.ESPBaud),
		"settings": fmt.Sprintf("[[component]]\nname = \"settings\"\ntype = \"file\"\nversion = %q\npath = %q\nmode = \"0644\"\n",
			ver("settings"), d.SettingsPath),
	}
	for _, n := range names {
		c, ok := comps[n]
		if !ok {
			return fmt.Errorf("demo: no component %q (want rootfs, mcu, wifi, radio or settings)", n)
		}
		b.WriteString("\n" + c)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("demo: write %s: %w", path, err)
	}
	return nil
}

func lines(ls []string) string {
	if len(ls) == 0 {
		return ""
	}
	return strings.Join(ls, "\n") + "\n"
}

func tomlList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
