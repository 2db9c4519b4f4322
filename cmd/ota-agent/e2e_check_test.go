package main_test

import (
	"strings"
	"testing"

	"ota-agent/agent/policy"
	"ota-agent/cmd/internal/demo"
	"ota-agent/transport"
)

// One test per API: its fake server, the real `ota-agent check --json`,
// offers and decisions compared with go-cmp (issue 4).

func TestE2ECheckAkaso(t *testing.T) {
	img := demo.Image(1, 1<<20)
	tests := []struct {
		name    string
		current string
		fw      demo.Firmware
		want    policy.Decision
	}{
		{"min_version refused", "1.0.0", demo.Firmware{Component: "rootfs", Version: "2.1.0", Data: img, MinVersion: "1.5.0"},
			dec("rootfs", "2.1.0", policy.Skip, "requires at least 1.5.0, have 1.0.0")},
		{"min_version met", "1.6.0", demo.Firmware{Component: "rootfs", Version: "2.1.0", Data: img, MinVersion: "1.5.0"},
			dec("rootfs", "2.1.0", policy.Install, "silent: install now")},
		{"older", "3.0.0", fwOf("rootfs", "2.1.0", img), dec("rootfs", "2.1.0", policy.Skip, "older than current 3.0.0 and allow_downgrade is false")},
		{"same", "2.1.0", fwOf("rootfs", "2.1.0", img), dec("rootfs", "2.1.0", policy.Skip, "already at version 2.1.0")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newE2E(t, "akaso", demo.ConfigOptions{Versions: map[string]string{"rootfs": tt.current}, Components: []string{"rootfs"}}, demo.DeviceOptions{})
			r.publish(t, tt.fw)
			got := r.check(t)
			// AKASO sizes are fileSize estimates ("1.0MB").
			wantCheck(t, got, "akaso", []offerView{{Component: "rootfs", Version: "2.1.0", MD5: md5of(img), MinVersion: tt.fw.MinVersion,
				Size: 1 << 20, Estimate: true}}, []policy.Decision{tt.want})
		})
	}
}

func TestE2ECheckMXChip(t *testing.T) {
	mcu, wifi := demo.Image(2, 4096), demo.Image(3, 8192)
	r := newE2E(t, "mxchip", demo.ConfigOptions{Components: []string{"mcu", "wifi"}}, demo.DeviceOptions{})
	r.publish(t, fwOf("mcu", "1.1.0", mcu), fwOf("wifi", "0.9.0", wifi))
	wantCheck(t, r.check(t), "mxchip",
		[]offerView{{Component: "mcu", Version: "1.1.0", MD5: md5of(mcu)}, {Component: "wifi", Version: "0.9.0", MD5: md5of(wifi)}},
		[]policy.Decision{dec("mcu", "1.1.0", policy.Install, "silent: install now"),
			dec("wifi", "0.9.0", policy.Skip, "older than current 1.0.0 and allow_downgrade is false")})
}

func TestE2ECheckUpgradeLink(t *testing.T) {
	img := demo.Image(4, 64<<10)
	tests := []struct {
		upgradeType string
		policy      []string
		want        policy.Decision
	}{
		{"prompt", []string{`prompt = "hold"`}, dec("rootfs", "7", policy.Hold, "prompt: waiting for ota-agent approve")},
		{"prompt", []string{`prompt = "skip"`}, dec("rootfs", "7", policy.Skip, "prompt: policy.prompt is skip")},
		{"silent", nil, dec("rootfs", "7", policy.Install, "silent: install now")},
		{"forced", nil, dec("rootfs", "7", policy.Install, "forced: install now")},
	}
	for _, tt := range tests {
		t.Run(tt.upgradeType+strings.Join(tt.policy, ""), func(t *testing.T) {
			r := newE2E(t, "upgradelink", demo.ConfigOptions{Components: []string{"rootfs"}, Versions: map[string]string{"rootfs": "6"},
				Policy: append([]string{`version_scheme = "numeric"`}, tt.policy...)}, demo.DeviceOptions{})
			r.publish(t, demo.Firmware{Component: "rootfs", Version: "7", Data: img, UpgradeType: tt.upgradeType})
			wantCheck(t, r.check(t), "upgradelink",
				[]offerView{{Component: "rootfs", Version: "7", MD5: md5of(img), UpgradeType: transport.UpgradeType(tt.upgradeType), Size: int64(len(img))}},
				[]policy.Decision{tt.want})
		})
	}
}

func TestE2ECheckAliyun(t *testing.T) {
	rootfs, mcu, wifi := demo.Image(1, 1<<20), demo.Image(2, 4096), demo.Image(3, 8192)
	r := newE2E(t, "aliyun", demo.ConfigOptions{Components: []string{"rootfs", "mcu", "wifi"}}, demo.DeviceOptions{})
	r.publish(t, fwOf("rootfs", "2.0.0", rootfs), fwOf("mcu", "0.9.0", mcu), fwOf("wifi", "1.0.0", wifi))
	wantCheck(t, r.check(t), "aliyun",
		[]offerView{{Component: "rootfs", Version: "2.0.0", MD5: md5of(rootfs), Size: int64(len(rootfs))},
			{Component: "mcu", Version: "0.9.0", MD5: md5of(mcu), Size: int64(len(mcu))}},
		[]policy.Decision{dec("rootfs", "2.0.0", policy.Install, "silent: install now"),
			dec("mcu", "0.9.0", policy.Skip, "older than current 1.0.0 and allow_downgrade is false")})
}
