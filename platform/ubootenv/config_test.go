package ubootenv_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"ota-agent/platform/ubootenv"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []ubootenv.Device
	}{
		{"file hex", "/boot/uboot.env 0x0 0x4000\n", []ubootenv.Device{{Path: "/boot/uboot.env", Size: 0x4000}}},
		{"decimal offset, bare hex size", "/dev/mmcblk0 4194304 4000", []ubootenv.Device{{Path: "/dev/mmcblk0", Offset: 4194304, Size: 0x4000}}},
		{"octal offset", "/dev/mmcblk0 010 0x4000", []ubootenv.Device{{Path: "/dev/mmcblk0", Offset: 8, Size: 0x4000}}},
		{"negative offset", "/dev/mmcblk0 -0x20000 0x20000", []ubootenv.Device{{Path: "/dev/mmcblk0", Offset: -0x20000, Size: 0x20000}}},
		{"comments and trailing comment", "# device offset size\n\n/dev/mmcblk0 -0x20000 0x20000   # from the end\n",
			[]ubootenv.Device{{Path: "/dev/mmcblk0", Offset: -0x20000, Size: 0x20000}}},
		{"all columns", "/dev/mtd0 0x4000 0x4000 0x20000 2 1", []ubootenv.Device{{Path: "/dev/mtd0", Offset: 0x4000, Size: 0x4000, SectorSize: 0x20000, Sectors: 2, DisableLock: true}}},
		{"redundant", "/dev/mmcblk0 0x400000 0x4000\n/dev/mmcblk0 0x404000 0x4000\n", []ubootenv.Device{
			{Path: "/dev/mmcblk0", Offset: 0x400000, Size: 0x4000}, {Path: "/dev/mmcblk0", Offset: 0x404000, Size: 0x4000}}},
		{"tabs", "/dev/mmcblk0\t0x400000\t0x4000", []ubootenv.Device{{Path: "/dev/mmcblk0", Offset: 0x400000, Size: 0x4000}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ubootenv.ParseConfig(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("ParseConfig(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, cfg.Devices); diff != "" {
				t.Errorf("ParseConfig(%q) (-want +got):\n%s", tt.in, diff)
			}
			if cfg.Redundant() != (len(tt.want) == 2) {
				t.Errorf("Redundant() = %v", cfg.Redundant())
			}
		})
	}
}

func TestParseConfigBad(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", "no device line"},
		{"only comments", "# nothing\n", "no device line"},
		{"two fields", "/dev/mmcblk0 0x0\n", "want at least"},
		{"bad offset", "/dev/mmcblk0 0xzz 0x4000\n", "offset"},
		{"octal 9", "/dev/mmcblk0 09 0x4000\n", "offset"},
		{"bad size", "/dev/mmcblk0 0 0xq\n", "env size"},
		{"negative size", "/dev/mmcblk0 0 -4000\n", "env size"},
		{"tiny size", "/dev/mmcblk0 0 4\n", "too small"},
		{"three lines", "a 0 0x4000\nb 0 0x4000\nc 0 0x4000\n", "at most 2"},
		{"sizes differ", "a 0 0x4000\nb 0 0x2000\n", "differ in size"},
		{"seven fields", "a 0 0x4000 0x4000 1 0 9\n", "at most 6"},
		{"bad lock", "a 0 0x4000 0x4000 1 x\n", "disable-lock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ubootenv.ParseConfig(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseConfig(%q) = %v, want an error containing %q", tt.in, err, tt.want)
			}
		})
	}
}
