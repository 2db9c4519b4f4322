package main_test

import (
	"strings"
	"testing"
)

// TestHostileConfigCheckAgrees: each value below was accepted by `config
// check` and refused by `update` / `run` when the targets were built
// (flasher/ab.New, stm32.NewTarget, ymodem.NewTarget, esprom.NewTarget).
// config check now refuses it too, with file:line and the key.
func TestHostileConfigCheckAgrees(t *testing.T) {
	tests := []struct {
		name, from, to, want string
	}{
		{"ab attempts over 9", "\nattempts = 3", "\nattempts = 12",
			":68: component[rootfs].ab.attempts: 12 is not allowed (use 1 to 9 boot attempts; U-Boot counts them in one digit)"},
		{"stm32 baud too high", "baud = 115200", "baud = 5000000",
			":78: component[mcu].baud: 5000000 is not allowed (use 1200 to 4000000; most STM32 bootloaders take at most 115200)"},
		{"stm32 baud too low", "baud = 115200", "baud = 300",
			":78: component[mcu].baud: 300 is not allowed (use 1200 to 4000000; most STM32 bootloaders take at most 115200)"},
		{"stm32 address unaligned", "address = 0x08000000", "address = 0x08000002",
			":80: component[mcu].address: 0x8000002 is not allowed (use a 4-aligned flash address, 0x08000000 and up)"},
		{"stm32 address below flash", "address = 0x08000000", "address = 0x100",
			":80: component[mcu].address: 0x100 is not allowed (use a 4-aligned flash address, 0x08000000 and up)"},
		{"stm32 enter sequence", `enter = "-rts&-dtr,dtr:rts&-dtr,dtr"`, `enter = "-rts:dtr:rts"`,
			`:79: component[mcu].enter: sequence "-rts:dtr:rts": 2 ':' separators, want at most one (entry:exit)`},
		{"ymodem command", `command = "FWUPDATE"`, `command = "REBOOT"`,
			`:90: component[wifi].command: "REBOOT" is not allowed (use FWUPDATE, DRIVERUPDATE, BOOTUPDATE or PARUPDATE -id N)`},
		{"esp enter", "chip = \"esp32\"", "chip = \"esp32\"\nenter = \"wiggle\"",
			`:99: component[radio].enter: "wiggle" is not allowed (use classic, tight, none or an stm32flash -i sequence: `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, _ := specConfig(t, func(s string) string { return strings.Replace(s, tt.from, tt.to, 1) })
			r := runBin(t, "-c", path, "config", "check")
			lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
			if r.code != 2 || len(lines) != 1 || !strings.HasPrefix(r.stderr, "ota-agent: "+path+tt.want) || r.stdout != "" {
				t.Errorf("config check: exit %d, stderr %q, stdout %d bytes; want exit 2 and one line starting %q", r.code, r.stderr, len(r.stdout), "ota-agent: "+path+tt.want)
			}
		})
	}
}
