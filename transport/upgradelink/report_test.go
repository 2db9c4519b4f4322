package upgradelink_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"ota-agent/transport"
	"ota-agent/transport/upgradelink"
	"ota-agent/transport/upgradelink/upgradelinktest"
)

func TestReport(t *testing.T) {
	srv, c := setup(t, "lnx", nil)
	reports := []transport.Report{
		{Component: "rootfs", Event: transport.EventDownload, Version: "2", FromVersion: "1", OK: true, Extra: map[string]string{"key": "fromOffer"}},
		{Component: "rootfs", Event: transport.EventInstall, Version: "2", FromVersion: "1", OK: false, Code: upgradelink.CodeMD5Mismatch, Reason: "md5 mismatch"},
		{Component: "rootfs", Event: transport.EventInstall, Version: "3", OK: false, Code: 42, Reason: "flash failed"},
		{Component: "mcu", Event: transport.EventInstall, Version: "7", OK: true}, // another component: not UpgradeLink's to count
		{Component: "rootfs", Event: transport.EventInstall, Version: "3", FromVersion: "2", OK: true},
	}
	for _, r := range reports {
		if err := c.Report(t.Context(), r); err != nil {
			t.Fatalf("Report(%+v): %v", r, err)
		}
	}
	data := func(kv ...any) map[string]any {
		m := map[string]any{"devModelKey": "stv1", "devKey": "LOYlLXNy7w", "target": "linux", "arch": "arm64"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	want := []upgradelinktest.Report{
		{EventType: "app_upgrade_download", AppKey: "fromOffer", EventData: data("versionCode", 1.0, "downloadVersionCode", 2.0, "code", 0.0)},
		{EventType: "app_upgrade_upgrade", AppKey: "LOYlLXNy7wV3ySuh0XgtSg", EventData: data("versionCode", 1.0, "upgradeVersionCode", 2.0, "code", 1004.0)},
		{EventType: "app_upgrade_upgrade", AppKey: "LOYlLXNy7wV3ySuh0XgtSg", EventData: data("upgradeVersionCode", 3.0, "code", 1.0)},
		{EventType: "app_upgrade_upgrade", AppKey: "LOYlLXNy7wV3ySuh0XgtSg", EventData: data("versionCode", 2.0, "upgradeVersionCode", 3.0, "code", 0.0)},
	}
	got := srv.Reports()
	for i := range got {
		if got[i].Timestamp == "" {
			t.Errorf("report %d has no timestamp", i)
		}
		got[i].Timestamp = ""
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reports (-want +got):\n%s", diff)
	}
}

func TestReportBadInput(t *testing.T) {
	srv, c := setup(t, "file", nil)
	for _, tt := range []struct {
		name string
		r    transport.Report
		msg  string
	}{
		{"unknown event", transport.Report{Component: "rootfs", Event: "reboot", Version: "2"}, `event "reboot"`},
		{"version not a versionCode", transport.Report{Component: "rootfs", Event: transport.EventInstall, Version: "1.2.3"}, "not a positive versionCode"},
	} {
		err := c.Report(t.Context(), tt.r)
		if err == nil || !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), "upgradelink report") {
			t.Errorf("%s: Report = %v, want an upgradelink report error containing %q", tt.name, err, tt.msg)
		}
	}
	srv.Enqueue("/v1/app/report", upgradelinktest.Answer{Body: []byte(`{"code":500001,"msg":"bad timestamp"}`)})
	err := c.Report(t.Context(), transport.Report{Component: "rootfs", Event: transport.EventInstall, Version: "2", OK: true})
	wantErr(t, err, 0, "500001", true, "bad timestamp")
	if len(srv.Requests()) != 1 {
		t.Errorf("%d requests sent, want 1 (bad reports are refused before sending)", len(srv.Requests()))
	}
}

func TestResultCode(t *testing.T) {
	for _, tt := range []struct {
		r    transport.Report
		want int
	}{
		{transport.Report{OK: true, Code: 1004}, 0},
		{transport.Report{}, 1},
		{transport.Report{Code: 1}, 1},
		{transport.Report{Code: 1001}, 1001},
		{transport.Report{Code: 1002}, 1002},
		{transport.Report{Code: 1003}, 1003},
		{transport.Report{Code: 1004}, 1004},
		{transport.Report{Code: 1005}, 1},
	} {
		if got := upgradelink.ResultCode(tt.r); got != tt.want {
			t.Errorf("ResultCode(%+v) = %d, want %d", tt.r, got, tt.want)
		}
	}
}
