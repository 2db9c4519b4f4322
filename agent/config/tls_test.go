package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ota-agent/agent/config"
)

// TestTLSFilesChecked: a ca_file without a certificate, or a client key
// that does not match, is refused by Load (and so by config check), with
// the key named, as the HTTP client would refuse it later.
func TestTLSFilesChecked(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "ca.pem")
	os.WriteFile(bad, []byte("not a certificate\n"), 0o600)
	for _, tt := range []struct{ line, want string }{
		{`ca_file = "` + bad + `"`, "server.ca_file: " + bad + " holds no PEM certificate"},
		{`client_cert = "` + bad + `"` + "\nclient_key = \"" + bad + `"`, "server.client_cert: " + bad},
	} {
		p := filepath.Join(dir, "agent.toml")
		text := "[device]\nid = \"d\"\nmodel = \"m\"\nstate_dir = \"" + dir + "/state\"\n[server]\napi = \"akaso\"\nbase_url = \"https://ota.example.com/akaso\"\n" + tt.line +
			"\n[server.akaso]\ncomponent = \"s\"\n[[component]]\nname = \"s\"\ntype = \"file\"\nversion = \"1\"\npath = \"" + dir + "/out\"\n"
		os.WriteFile(p, []byte(text), 0o600)
		_, err := config.Load(p)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Load with %s = %v, want %q", tt.line, err, tt.want)
		}
	}
}
