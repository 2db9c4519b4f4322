package upgradelink

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"ota-agent/transport"
	"ota-agent/transport/download"
)

// Result codes of /v1/app/report (the SDK's client/enums.go).
const (
	CodeSuccess      = 0    // the download or upgrade worked
	CodeError        = 1    // any other failure
	CodeDownloadHTTP = 1001 // the download got an HTTP error
	CodeNoSpace      = 1002 // not enough space for the package
	CodeFileError    = 1003 // reading or writing a file failed
	CodeMD5Mismatch  = 1004 // the package's MD5 did not match
)

// Report implements transport.API: it posts the event to /v1/app/report.
// Report.Version and FromVersion must be versionCodes (decimal integers); the
// appKey is Report.Extra["key"] (set by Check) or the configured key.
func (c *Client) Report(ctx context.Context, r transport.Report) error {
	op := "report " + string(r.Event)
	if c.cfg.Component != "" && r.Component != c.cfg.Component {
		// UpgradeLink tracks one app key; installs of other components
		// (by hand, say) are not its to count.
		return nil
	}
	if err := c.validate(); err != nil {
		return err
	}
	if err := c.downloadFirst(ctx, r); err != nil {
		return err
	}
	body, err := c.reportBody(r)
	if err != nil {
		return &transport.Error{API: api, Op: op, Msg: err.Error()}
	}
	env, err := c.post(ctx, op, "/v1/app/report", body)
	if err != nil {
		return err
	}
	if env.Code != 0 {
		return codeError(op, env)
	}
	c.log.Info("reported", "version", r.Version, "event", string(r.Event), "ok", r.OK)
	return nil
}

// downloadFirst sends the successful download event the SDK sends before
// every upgrade event, for components whose installer reports none of its
// own (Config.ReportDownload): an install event, good or bad, means the
// package was downloaded and verified. It is sent once per version.
func (c *Client) downloadFirst(ctx context.Context, r transport.Report) error {
	if !c.cfg.ReportDownload || r.Event != transport.EventInstall || c.downloaded[r.Version] {
		return nil
	}
	d := r
	d.Event, d.OK, d.Code, d.Reason = transport.EventDownload, true, 0, ""
	body, err := c.reportBody(d)
	if err != nil {
		return &transport.Error{API: api, Op: "report download", Msg: err.Error()}
	}
	env, err := c.post(ctx, "report download", "/v1/app/report", body)
	if err == nil && env.Code != 0 {
		err = codeError("report download", env)
	}
	if err != nil {
		return err
	}
	c.downloaded[r.Version] = true
	return nil
}

// reportBody builds the body in the documented field order, e.g.
// {"eventType":"app_upgrade_upgrade","appKey":"…","timestamp":"…","eventData":{"versionCode":1,…,"upgradeVersionCode":2,"code":0}}.
func (c *Client) reportBody(r transport.Report) ([]byte, error) {
	var eventType, versionField string
	switch r.Event {
	case transport.EventDownload:
		eventType, versionField = "app_upgrade_download", "downloadVersionCode"
	case transport.EventInstall:
		eventType, versionField = "app_upgrade_upgrade", "upgradeVersionCode"
	default:
		return nil, fmt.Errorf("event %q has no UpgradeLink event type (want %q or %q)", r.Event, transport.EventDownload, transport.EventInstall)
	}
	to, err := strconv.ParseInt(strings.TrimSpace(r.Version), 10, 64)
	if err != nil || to <= 0 {
		return nil, fmt.Errorf("version %q is not a positive versionCode", r.Version)
	}
	key := c.cfg.Key
	if k := r.Extra["key"]; k != "" {
		key = k
	}
	var b strings.Builder
	b.WriteString(`{"eventType":"` + eventType + `","appKey":` + jsonString(key))
	b.WriteString(`,"timestamp":` + jsonString(c.now().Format("2006-01-02T15:04:05Z07:00")) + `,"eventData":{`)
	if from, err := strconv.ParseInt(strings.TrimSpace(r.FromVersion), 10, 64); err == nil && from > 0 {
		b.WriteString(`"versionCode":` + strconv.FormatInt(from, 10) + `,`)
	}
	if c.cfg.DevModelKey != "" {
		b.WriteString(`"devModelKey":` + jsonString(c.cfg.DevModelKey) + `,`)
	}
	if c.cfg.DevKey != "" {
		b.WriteString(`"devKey":` + jsonString(c.cfg.DevKey) + `,`)
	}
	b.WriteString(`"target":"linux",`)
	if c.cfg.Arch != "" {
		b.WriteString(`"arch":` + jsonString(c.cfg.Arch) + `,`)
	}
	b.WriteString(`"` + versionField + `":` + strconv.FormatInt(to, 10) + `,"code":` + strconv.Itoa(ResultCode(r)) + `}}`)
	return []byte(b.String()), nil
}

// ResultCode is the report code for r: 0 when r.OK, r.Code when it is one of
// the SDK's failure codes (1, 1001–1004), else the code the failure reason
// names (FailureCode), else 1.
func ResultCode(r transport.Report) int {
	if r.OK {
		return CodeSuccess
	}
	switch r.Code {
	case CodeError, CodeDownloadHTTP, CodeNoSpace, CodeFileError, CodeMD5Mismatch:
		return r.Code
	}
	return FailureCode(r.Reason)
}

// failureMarks map the download engine's own failure texts (its sentinels
// and error formats, so they stay in step) to the SDK's codes, in order.
var failureMarks = []struct {
	mark string
	code int
}{
	{"md5 mismatch: got", CodeMD5Mismatch},
	{"sha256 mismatch: got", CodeMD5Mismatch},
	{download.ErrNoSpace.Error(), CodeNoSpace},
	{"unexpected HTTP ", CodeDownloadHTTP},
	{"HTTP 403 (presigned", CodeDownloadHTTP},
	{"write destination at offset", CodeFileError},
	{"read back at offset", CodeFileError},
	{"staging", CodeFileError},
}

// FailureCode is the SDK code for a failure reason (Report.Reason, the
// agent's one-line error): 1004 digest mismatch, 1002 not enough space, 1001
// an HTTP error from the download server, 1003 a file operation, else 1.
func FailureCode(reason string) int {
	for _, m := range failureMarks {
		if strings.Contains(reason, m.mark) {
			return m.code
		}
	}
	return CodeError
}
