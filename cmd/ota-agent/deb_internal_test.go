package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"ota-agent/agent/config"
	"ota-agent/platform/systemd"
)

// debUnit is the unit the Debian package ships (deb/ota-agent.service).
const debUnit = "deb/ota-agent.service"

// TestDebUnitIsServiceInstalls: the packaged unit is the one `ota-agent
// service install` writes for /usr/bin/ota-agent and the default
// configuration, so a packaged and a hand-installed agent behave alike.
// OTA_UPDATE_GOLDEN=1 rewrites it.
func TestDebUnitIsServiceInstalls(t *testing.T) {
	e := &env{cfgPath: config.DefaultPath, logFormat: "text"}
	sc, err := serviceConfig(e, "info")
	if err != nil {
		t.Fatal(err)
	}
	want, err := systemd.Unit(sc.Description, "/usr/bin/ota-agent", sc.Arguments, config.DefaultPath, config.DefaultStateDir)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("OTA_UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(debUnit, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(debUnit)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, string(got)); d != "" {
		t.Errorf("%s differs from the rendered unit (-want +got; OTA_UPDATE_GOLDEN=1 rewrites it):\n%s", debUnit, d)
	}
}

// TestManPageCommands: the man page names every command of the --help
// text, and the README's command table names the same commands.
func TestManPageCommands(t *testing.T) {
	man, err := os.ReadFile("deb/ota-agent.8")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	cmds := regexp.MustCompile(`(?m)^  ([a-z]+) `).FindAllStringSubmatch(usage, -1)
	if len(cmds) < 10 {
		t.Fatalf("only %d commands found in the usage text", len(cmds))
	}
	for _, c := range cmds {
		name := c[1]
		if !regexp.MustCompile(`(?m)^\.B(R)? ` + name + `\b`).Match(man) {
			t.Errorf("man page lacks command %q", name)
		}
		if !strings.Contains(string(readme), "| `"+name) {
			t.Errorf("README command table lacks %q", name)
		}
	}
}
