package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ota-agent/agent/config"
)

const hawkbitTOML = `[device]
id = "dev-1"
state_dir = "/var/lib/ota-agent"

[server]
api = "hawkbit"
base_url = "https://hawkbit.example.com"

[server.hawkbit]
tenant = "DEFAULT"
target_token_file = "token"
chunks = { os = "rootfs" }

[[component]]
name = "rootfs"
type = "file"
version = "1"
path = "/tmp/x"
`

func loadHawkbit(t *testing.T, old, new string, mode os.FileMode) (*config.Config, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte("tok-1\n"), mode); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "agent.toml")
	if err := os.WriteFile(p, []byte(strings.Replace(hawkbitTOML, old, new, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	return config.Load(p)
}

func TestHawkbitConfig(t *testing.T) {
	c, err := loadHawkbit(t, "", "", 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if h := c.Server.Hawkbit; h.Token != "tok-1" || h.Gateway() || h.Chunks["os"] != "rootfs" {
		t.Errorf("hawkbit = %+v", h)
	}
}

func TestHawkbitConfigErrors(t *testing.T) {
	for _, tt := range []struct{ name, old, new, want string }{
		{"no tenant", `tenant = "DEFAULT"`, ``, "server.hawkbit.tenant: is required"},
		{"two tokens", `target_token_file = "token"`, "target_token_file = \"token\"\ngateway_token_file = \"token\"", "set exactly one of"},
		{"no token", `target_token_file = "token"`, ``, "set exactly one of"},
		{"unknown chunk target", `os = "rootfs"`, `os = "boot"`, `server.hawkbit.chunks.os: no [[component]] is named "boot"`},
		{"no chunks", `chunks = { os = "rootfs" }`, ``, "server.hawkbit.chunks: is empty"},
		{"no controller id", `id = "dev-1"`, ``, "server.hawkbit.controller_id: is required"},
		{"no base_url", `base_url = "https://hawkbit.example.com"`, ``, "server.base_url: is required"},
		{"unknown key", `tenant = "DEFAULT"`, "tenant = \"DEFAULT\"\ntoken = \"x\"", "server.hawkbit.token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadHawkbit(t, tt.old, tt.new, 0o600)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := loadHawkbit(t, "", "", 0o644); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable token: Load = %v", err)
	}
}
