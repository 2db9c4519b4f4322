package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ota-agent/agent/config"
)

// abConfig is a valid file with one ab component whose [component.ab]
// table is ab.
func abConfig(ab string) string {
	return `[device]
id = "cam-0001"
model = "M"
[server]
api = "akaso"
base_url = "https://ota.example.com/akaso"
[server.akaso]
component = "rootfs"
[[component]]
name = "rootfs"
type = "ab"
version = "1.0.0"
[component.ab]
slots = { A = "/dev/disk/by-partlabel/rootfs-a", B = "/dev/disk/by-partlabel/rootfs-b" }
` + ab
}

const grubMender = "bootloader = \"grub\"\ngrubenv = \"/boot/efi/grub-mender-grubenv\"\nscheme = \"mender\"\n"

// TestABGrubLayoutAndPartitions: grubenv_layout and partitions load when
// they fit the bootloader and scheme, and are refused with a one-line
// error naming the key otherwise.
func TestABGrubLayoutAndPartitions(t *testing.T) {
	tests := []struct{ name, ab, err string }{
		{"mender layout", grubMender + "grubenv_layout = \"mender\"\npartitions = { A = 2, B = 3 }\n", ""},
		{"single layout", grubMender + "grubenv_layout = \"single\"\n", ""},
		{"bad layout", grubMender + "grubenv_layout = \"double\"\n",
			`ab.grubenv_layout: "double" is not allowed (use one of single, mender)`},
		{"layout with rauc", "bootloader = \"grub\"\ngrubenv = \"/boot/grub/grubenv\"\nscheme = \"rauc\"\ngrubenv_layout = \"mender\"\n",
			`ab.grubenv_layout: "mender" (grub-mender-grubenv) needs bootloader grub and scheme mender, not grub and rauc`},
		{"layout on uboot", "bootloader = \"uboot\"\nenv_config = \"/etc/fw_env.config\"\nscheme = \"mender\"\ngrubenv_layout = \"mender\"\n",
			`needs bootloader grub and scheme mender, not uboot and mender`},
		{"partitions with rauc", "bootloader = \"uboot\"\nenv_config = \"/etc/fw_env.config\"\nscheme = \"rauc\"\npartitions = { A = 2, B = 3 }\n",
			"ab.partitions: applies only to scheme mender (remove it for rauc)"},
		{"partition missing", grubMender + "partitions = { A = 2 }\n", "ab.partitions: has no number for slot B"},
		{"partition zero", grubMender + "partitions = { A = 2, B = 0 }\n", "ab.partitions: slot B: 0 is not allowed (use a partition number 1..999)"},
		{"partition too big", grubMender + "partitions = { A = 2, B = 1000 }\n", "slot B: 1000 is not allowed"},
		{"partition duplicate", grubMender + "partitions = { A = 2, B = 2 }\n", "ab.partitions: slots A and B both have partition 2"},
		{"partition extra slot", grubMender + "partitions = { A = 2, B = 3, C = 4 }\n", "ab.partitions: names a slot that is not in slots [A B]"},
		{"partition not a number", grubMender + "partitions = { A = \"2\", B = 3 }\n", "partitions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "agent.toml")
			os.WriteFile(p, []byte(abConfig(tt.ab)), 0o644)
			c, err := config.Load(p)
			if tt.err == "" {
				if err != nil {
					t.Fatalf("Load = %v", err)
				}
				ab := c.Components[0].AB
				if strings.Contains(tt.ab, "partitions") && (ab.Partitions["A"] != 2 || ab.Partitions["B"] != 3) {
					t.Errorf("partitions = %v, want A=2 B=3", ab.Partitions)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "\n") {
				t.Errorf("Load = %v, want one line with %q", err, tt.err)

			}
		})
	}
}
