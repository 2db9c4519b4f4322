package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ota-agent/agent/config"
)

// TestAPIErrors edits the SPEC example for one API and checks the one-line
// error names the key.
func TestAPIErrors(t *testing.T) {
	for _, tt := range []struct {
		name, api, old, new, want string
	}{
		{"mxchip no components", "mxchip", "mcu_component = \"mcu\"\nwifi_component = \"wifi\"", "",
			":21: server.mxchip.mcu_component: set mcu_component, wifi_component or both"},
		{"mxchip unknown wifi", "mxchip", `wifi_component = "wifi"`, `wifi_component = "wlan"`,
			`:25: server.mxchip.wifi_component: no [[component]] is named "wlan" (have "rootfs", "mcu", "wifi", "radio", "settings")`},
		{"upgradelink bad kind", "upgradelink", `kind = "file" `, `kind = "apk" `,
			":30: server.upgradelink.kind: \"apk\" is not allowed (use one of configuration, file, url, lnx)"},
		{"upgradelink lnx without arch", "upgradelink", "kind = \"file\"                   # configuration | file | url | lnx\nkey = \"LOYlLXNy7wV3ySuh0XgtSg\"\narch = \"arm64\"",
			"kind = \"lnx\"\nkey = \"LOYlLXNy7wV3ySuh0XgtSg\"", ":27: server.upgradelink.arch: \"\" is not allowed (use one of x64, arm64) (kind lnx requires it)"},
		{"upgradelink bad arch", "upgradelink", `arch = "arm64"`, `arch = "aarch64"`,
			":32: server.upgradelink.arch: \"aarch64\" is not allowed (use one of x64, arm64) (kind lnx requires it)"},
		{"upgradelink version not an integer", "upgradelink", "# lnx only\ncomponent = \"settings\"", "# lnx only\ncomponent = \"rootfs\"",
			":61: component[rootfs].version: \"1.0.0\" is not a positive integer (UpgradeLink sends it as versionCode)"},
		{"aliyun bad status", "aliyun", "accept_status = [1, -1]", "accept_status = [1, 7]",
			":41: server.aliyun.accept_status: 7 is not a firmware status (use -1, 0, 1, 2 or 3)"},
		{"aliyun unknown module target", "aliyun", `ble = "mcu"`, `ble = "ble"`,
			`:42: server.aliyun.modules.ble: no [[component]] is named "ble" (have "rootfs", "mcu", "wifi", "radio", "settings")`},
		{"aliyun bad endpoint", "aliyun", `endpoint = "https://iot.cn-shanghai.aliyuncs.com"`, `endpoint = "ftp://iot"`,
			`:36: server.aliyun.endpoint: "ftp://iot" is not an http(s) URL (e.g. "https://ota.example.com/akaso")`},
		{"akaso no model", "akaso", `model = "Brave7_Amba" `, `# model`,
			`:1: device.model: is required for api "akaso" (the vendor's model key, e.g. "Brave7_Amba")`},
		{"ymodem bad cli", "akaso", `cli = "mxchip"`, `cli = "at"`,
			`:89: component[wifi].cli: "at" is not allowed (use one of none, mxchip)`},
		{"esp bad chip", "akaso", `chip = "esp32"`, `chip = "esp99"`,
			`:98: component[radio].chip: "esp99" is not allowed (use one of esp8266, esp32, esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2)`},
		{"client cert without key", "akaso", `client_cert = ""`, `client_cert = "/etc/ssl/c.pem"`,
			`:14: server.client_cert: client_cert and client_key must be set together`},
		{"mxchip version for a managed module", "mxchip", `wifi_component = "wifi"`, "wifi_component = \"wifi\"\nwifi_version = \"1.0\"",
			":26: server.mxchip.wifi_version: is only for a module no component manages; the component's own version is sent"},
		{"mxchip unmanaged version padded", "mxchip", `wifi_component = "wifi"`, `wifi_version = " 1.0"`,
			`:25: server.mxchip.wifi_version: " 1.0" must be 1 to 128 printable characters without spaces at either end`},
		{"upgradelink negative appoint", "upgradelink", "# lnx only\ncomponent = \"settings\"", "# lnx only\ncomponent = \"settings\"\nappoint_version_code = -1",
			":34: server.upgradelink.appoint_version_code: -1 is not a versionCode (use 0 for the latest, or a positive integer)"},
		{"aliyun instance id with a control character", "aliyun", "accept_status = [1, -1]", "accept_status = [1, -1]\niot_instance_id = \"iot-\\u0007\"",
			`:42: server.aliyun.iot_instance_id: "iot-\a" must be printable, without spaces at either end (e.g. "iot-cn-0pp1n8t****")`},
		{"policy bad unorderable", "akaso", "max_attempts = 3", "max_attempts = 3\nunorderable = \"install\"",
			`:52: policy.unorderable: "install" is not allowed (use one of skip, hold)`},
		{"ca file missing", "akaso", `ca_file = ""`, `ca_file = "/nonexistent/ca.pem"`,
			`:13: server.ca_file: cannot use /nonexistent/ca.pem: no such file or directory (check the path)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := specConfig(t, tt.api)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), tt.old) {
				t.Fatalf("the SPEC example has no %q", tt.old)
			}
			s := strings.Replace(string(data), tt.old, tt.new, 1)
			if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err = config.Load(path)
			if err == nil || strings.TrimPrefix(err.Error(), path) != tt.want {
				t.Errorf("Load error\n got: %v\nwant: %s%s", err, filepath.Base(path), tt.want)
			}
		})
	}
}
