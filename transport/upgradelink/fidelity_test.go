package upgradelink_test

import (
	"encoding/json"
	"strings"
	"testing"

	"ota-agent/transport"
	"ota-agent/transport/upgradelink"
	"ota-agent/transport/upgradelink/upgradelinktest"
)

// TestFailureCodes: failure reports carry the SDK's codes, read from the
// agent's failure reason, so the console can tell them apart (issue 16
// item 6).
func TestFailureCodes(t *testing.T) {
	srv, c := setup(t, "file", nil)
	reasons := map[string]float64{
		"download https://h/fw.bin: 1 attempt(s), stopped at 0/10 bytes: unexpected HTTP 404":                   1001,
		"stage: not enough space in /var/lib/ota-agent/download: need 10 bytes, 1 free":                         1002,
		"download https://h/fw.bin: 1 attempt(s), stopped at 0/10 bytes: write destination at offset 0: bad fd": 1003,
		"md5 mismatch: got 00, want 11; the file on the server is not the one the offer describes":              1004,
		"sha256 mismatch: got 00, want 11; the file on the server is not the one the offer describes":           1004,
		"flash settings: post_install exited 1":                                                                 1,
	}
	for reason := range reasons {
		r := transport.Report{Component: "rootfs", Version: "2", FromVersion: "1", Event: transport.EventDownload, Reason: reason}
		if err := c.Report(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	got := map[float64]int{}
	for _, rep := range srv.Reports() {
		got[rep.EventData["code"].(float64)]++
	}
	want := map[float64]int{1001: 1, 1002: 1, 1003: 1, 1004: 2, 1: 1}
	if len(got) != len(want) {
		t.Fatalf("codes sent = %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("code %v sent %d times, want %d (all: %v)", k, got[k], n, got)
		}
	}
	for reason, code := range reasons {
		if got := upgradelink.FailureCode(reason); float64(got) != code {
			t.Errorf("FailureCode(%q) = %d, want %v", reason, got, code)
		}
	}
}

// TestDownloadEventBeforeInstall: with ReportDownload (every component
// type but ab) an install report is preceded by the download event, once,
// as the SDK sends for every kind (issue 16 item 7).
func TestDownloadEventBeforeInstall(t *testing.T) {
	srv, c := setup(t, "file", func(c *upgradelink.Config) { c.ReportDownload = true })
	r := transport.Report{Component: "rootfs", Version: "2", FromVersion: "1", Event: transport.EventInstall, OK: true}
	for range 2 { // a resend (retry) does not repeat the download event
		if err := c.Report(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	var seq []string
	for _, rep := range srv.Reports() {
		seq = append(seq, rep.EventType+"/"+jsonNum(rep.EventData["code"]))
	}
	want := "app_upgrade_download/0 app_upgrade_upgrade/0 app_upgrade_upgrade/0"
	if strings.Join(seq, " ") != want {
		t.Errorf("events = %s, want %s", strings.Join(seq, " "), want)
	}
}

// TestAppStartAndAppoint: the first check sends app_start (launchTime,
// versionCode) once; appointVersionCode carries the configured pin (issue
// 16 item 8).
func TestAppStartAndAppoint(t *testing.T) {
	srv, c := setup(t, "file", func(c *upgradelink.Config) { c.AppointVersionCode = 5 })
	srv.Publish("file", "LOYlLXNy7wV3ySuh0XgtSg", 5, 2, []byte("five"))
	for range 2 {
		if _, err := c.Check(t.Context(), dev("1")); err != nil {
			t.Fatal(err)
		}
	}
	var starts []upgradelinktest.Report
	for _, rep := range srv.Reports() {
		if rep.EventType == "app_start" {
			starts = append(starts, rep)
		}
	}
	if len(starts) != 1 || starts[0].EventData["launchTime"] == nil || jsonNum(starts[0].EventData["versionCode"]) != "1" {
		t.Errorf("app_start reports = %+v, want one with launchTime and versionCode 1", starts)
	}
	var body map[string]any
	if err := json.Unmarshal(firstTo(srv, "/v1/file/upgrade").Body, &body); err != nil {
		t.Fatal(err)
	}
	if jsonNum(body["appointVersionCode"]) != "5" {
		t.Errorf("appointVersionCode = %v, want 5", body["appointVersionCode"])
	}
}

func jsonNum(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
