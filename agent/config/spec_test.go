package config_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"ota-agent/agent/config"
)

// secrets are the values written to the secret files; no output may contain them.
var secrets = map[string]string{
	"mxchip.token":       "0123456789abcdef0123456789abcdef01234567",
	"upgradelink.secret": "89c8b3d5f2a74e1b",
	"aliyun.secret":      "testsecret-aliyun",
}

// specConfig writes the SPEC §8 example for api into a temp dir, with the
// secret files next to it (mode 0600), and returns its path.
func specConfig(t *testing.T, api string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testdata, "agent.toml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := strings.ReplaceAll(string(data), "/etc/ota-agent/", dir+"/")
	s = strings.Replace(s, `api = "akaso"`, `api = "`+api+`"`, 1)
	if api == "upgradelink" { // versionCode is an integer: point it at "settings" (version "1")
		s = strings.Replace(s, "# lnx only\ncomponent = \"rootfs\"", "# lnx only\ncomponent = \"settings\"", 1)
	}
	for name, v := range secrets {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "agent.toml")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadSpecExample(t *testing.T) {
	c, err := config.Load(filepath.Join(testdata, "agent.toml"))
	if err != nil {
		t.Fatalf("Load(SPEC example): %v", err)
	}
	want := specWant()
	if diff := cmp.Diff(want, c, cmpopts.IgnoreFields(config.Config{}, "Path")); diff != "" {
		t.Errorf("Load(SPEC example) mismatch (-want +got):\n%s", diff)
	}
}

func specWant() *config.Config {
	return &config.Config{
		Device: config.Device{ID: "cam-0001", Model: "Brave7_Amba", StateDir: "/var/lib/ota-agent"},
		Server: config.Server{
			API: "akaso", BaseURL: "https://ota.example.com/akaso",
			PollInterval: config.Duration{Duration: 6 * time.Hour}, PollJitter: config.Duration{Duration: 30 * time.Minute},
			Timeout: config.Duration{Duration: 30 * time.Second},
			Akaso:   config.Akaso{Language: "EN", Component: "rootfs"},
			MXChip:  config.MXChip{ProductID: "p1", TokenFile: "/etc/ota-agent/mxchip.token", MCUComponent: "mcu", WiFiComponent: "wifi"},
			UpgradeLink: config.UpgradeLink{AccessKey: "mui2W50H1j-OC4xD6PgQag", SecretKeyFile: "/etc/ota-agent/upgradelink.secret",
				Kind: "file", Key: "LOYlLXNy7wV3ySuh0XgtSg", Arch: "arm64", Component: "rootfs"},
			Aliyun: config.Aliyun{Endpoint: "https://iot.cn-shanghai.aliyuncs.com", Region: "cn-shanghai", AccessKeyID: "testid",
				AccessKeySecretFile: "/etc/ota-agent/aliyun.secret", ProductKey: "a19mzPZabcd", AcceptStatus: []int{1, -1},
				Modules: map[string]string{"default": "rootfs", "ble": "mcu"}},
		},
		Policy: config.Policy{VersionScheme: "auto", DefaultUpgradeType: "silent", Prompt: "hold", MaxAttempts: 3, Unorderable: "skip"},
		Download: config.Download{StallTimeout: config.Duration{Duration: 60 * time.Second}, MaxRetries: 8, Budget: 3,
			MinRate: 1 << 10, MinRateWindow: config.Duration{Duration: time.Minute}, TimeBudget: config.Duration{Duration: 6 * time.Hour}, MaxSize: 4 << 30, KeepMax: 64 << 20},
		Security: config.Security{SignatureSuffix: ".minisig"},
		Components: []config.Component{
			{Name: "rootfs", Type: "ab", Version: "1.0.0", AB: &config.AB{
				Slots: map[string]string{"A": "/dev/mmcblk0p2", "B": "/dev/mmcblk0p3"}, Bootloader: "uboot",
				EnvConfig: "/etc/fw_env.config", Scheme: "rauc", Attempts: 3, CmdlineFile: "/proc/cmdline",
				Reboot: []string{"systemctl", "reboot"}, Health: [][]string{{"/usr/bin/systemctl", "is-system-running", "--wait"}}}},
			{Name: "mcu", Type: "stm32", Version: "1.0.0", Port: "/dev/ttyS1", Baud: 115200,
				Enter: "-rts&-dtr,dtr:rts&-dtr,dtr", Address: 0x08000000, Verify: "readback"},
			{Name: "wifi", Type: "ymodem", Version: "1.0.0", Port: "/dev/ttyS2", Baud: 115200, CLI: "mxchip", Command: "FWUPDATE"},
			{Name: "radio", Type: "esp", Version: "1.0.0", Port: "/dev/ttyUSB0", Baud: 921600, Chip: "esp32", Offset: 0x10000},
			{Name: "settings", Type: "file", Version: "1", Path: "/etc/app/remote.json", Mode: "0644",
				PostInstall: []string{"systemctl", "reload", "app"}},
		},
	}
}

func TestLoadSecrets(t *testing.T) {
	for _, tt := range []struct {
		api    string
		secret func(*config.Config) string
		want   string
	}{
		{"mxchip", func(c *config.Config) string { return c.Server.MXChip.Token }, secrets["mxchip.token"]},
		{"upgradelink", func(c *config.Config) string { return c.Server.UpgradeLink.SecretKey }, secrets["upgradelink.secret"]},
		{"aliyun", func(c *config.Config) string { return c.Server.Aliyun.AccessKeySecret }, secrets["aliyun.secret"]},
	} {
		t.Run(tt.api, func(t *testing.T) {
			c, err := config.Load(specConfig(t, tt.api))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := tt.secret(c); got != tt.want {
				t.Errorf("secret = %q, want %q (trimmed)", got, tt.want)
			}
		})
	}
}

func TestSecretRefused(t *testing.T) {
	path := specConfig(t, "mxchip")
	token := filepath.Join(filepath.Dir(path), "mxchip.token")
	if err := os.Chmod(token, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := config.Load(path)
	want := path + ":23: server.mxchip.token_file: " + token + " has mode 0644 and any user can read it (run: chmod 600 " + token + ")"
	if err == nil || err.Error() != want || !errors.Is(err, config.ErrWorldReadable) {
		t.Errorf("Load with world-readable token = %v\nwant %s", err, want)
	}
	if err := os.Remove(token); err != nil {
		t.Fatal(err)
	}
	_, err = config.Load(path)
	if err == nil || !strings.Contains(err.Error(), "server.mxchip.token_file: cannot use "+token+": no such file or directory") {
		t.Errorf("Load with missing token = %v, want a missing-file error naming the key", err)
	}
	if err := os.WriteFile(token, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err = config.Load(path); err == nil || !strings.Contains(err.Error(), token+" is empty") {
		t.Errorf("Load with empty token = %v, want an empty-file error", err)
	}
}

// TestWriteResolved checks that the resolved output never holds a secret,
// and loads again to the same Config.
func TestWriteResolved(t *testing.T) {
	for _, api := range []string{"akaso", "mxchip", "upgradelink", "aliyun"} {
		t.Run(api, func(t *testing.T) {
			path := specConfig(t, api)
			c, err := config.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := c.WriteResolved(&buf); err != nil {
				t.Fatal(err)
			}
			for _, s := range secrets {
				if strings.Contains(buf.String(), s) {
					t.Fatalf("resolved output contains the secret %q:\n%s", s, buf.String())
				}
			}
			if api != "akaso" && !strings.Contains(buf.String(), `= "****"`) {
				t.Errorf("resolved output does not show the masked secret:\n%s", buf.String())
			}
			again := filepath.Join(t.TempDir(), "resolved.toml")
			if err := os.WriteFile(again, buf.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			c2, err := config.Load(again)
			if err != nil {
				t.Fatalf("Load(resolved): %v\n%s", err, buf.String())
			}
			if diff := cmp.Diff(c, c2, cmpopts.IgnoreFields(config.Config{}, "Path")); diff != "" {
				t.Errorf("resolved config loads differently (-orig +reloaded):\n%s", diff)
			}
		})
	}
}
