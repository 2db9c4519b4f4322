package main

import (
	"strings"
	"testing"

	"ota-agent/agent"
	"ota-agent/agent/config"
)

// TestPrintOutcomesReboot: "rebooting into it" only when ab.reboot runs a
// command; with none the operator is told to reboot (issue 16 item 17).
func TestPrintOutcomesReboot(t *testing.T) {
	cfg := &config.Config{Components: []config.Component{
		{Name: "byhand", Type: "ab", AB: &config.AB{}},
		{Name: "auto", Type: "ab", AB: &config.AB{Reboot: []string{"systemctl", "reboot"}}},
	}}
	var b strings.Builder
	printOutcomes(&b, cfg, []agent.Outcome{
		{Component: "byhand", Version: "2.0", Phase: "rebooting"},
		{Component: "auto", Version: "2.0", Phase: "rebooting"},
	})
	want := "byhand 2.0: written and armed; reboot the device to boot it (ab.reboot is empty; commit follows at start)\n" +
		"auto 2.0: written and armed; rebooting into it (commit follows at start)\n"
	if b.String() != want {
		t.Errorf("printOutcomes =\n%s\nwant\n%s", b.String(), want)
	}
}
