package upgradelinktest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// keyField is the body field naming the key, per kind the fake serves.
var keyField = map[string]string{
	"configuration": "configurationKey",
	"file":          "fileKey",
	"url":           "urlKey",
	"lnx":           "lnxKey",
}

// authenticate runs the checks of the replay and signature middlewares, in
// their order, and remembers the nonce of a request that passes.
func (s *Server) authenticate(r *http.Request, body []byte) *apiError {
	if r.Header.Get("test") != "" {
		return fail(400001, "request carries the debug header \"test\"; a device must never send it")
	}
	if r.Method != http.MethodPost {
		return fail(404004, "method %s not allowed, want POST", r.Method)
	}
	ts, nonce := r.Header.Get("X-Timestamp"), r.Header.Get("X-Nonce")
	key, sig := r.Header.Get("X-AccessKey"), r.Header.Get("X-Signature")
	if ts == "" || nonce == "" || key == "" || sig == "" {
		return fail(400004, "missing X-Timestamp, X-Nonce, X-AccessKey or X-Signature")
	}
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return fail(400004, "X-Timestamp %q is not RFC 3339", ts)
	}
	if len(nonce) < 16 {
		return fail(400004, "X-Nonce %q is shorter than 16 characters", nonce)
	}
	if d := s.cfg.Now().Sub(t); d > s.cfg.Skew || d < -s.cfg.Skew {
		return fail(401001, "X-Timestamp %s is %s off the server's clock (allowed ±%s)", ts, d.Round(time.Second), s.cfg.Skew)
	}
	if key != s.cfg.AccessKey {
		return fail(401001, "unknown X-AccessKey %q", key)
	}
	s.mu.Lock()
	used := s.nonces[nonce]
	s.nonces[nonce] = true
	s.mu.Unlock()
	if used {
		return fail(401001, "X-Nonce %q was already used", nonce)
	}
	uri, err := url.QueryUnescape(r.RequestURI)
	if err != nil {
		uri = r.RequestURI
	}
	if sig != signature(s.cfg.SecretKey, body, nonce, ts, uri) {
		return fail(401002, "Signature Invalid")
	}
	return nil
}

// upgradeRequest is the body of /v1/<kind>/upgrade; the key field is read
// separately.
type upgradeRequest struct {
	VersionCode        int64  `json:"versionCode"`
	AppointVersionCode int64  `json:"appointVersionCode"`
	DevModelKey        string `json:"devModelKey"`
	DevKey             string `json:"devKey"`
	Arch               string `json:"arch"`
}

func (s *Server) upgrade(w http.ResponseWriter, kind string, body []byte) (int, int64) {
	var req upgradeRequest
	var keys map[string]any
	if json.Unmarshal(body, &req) != nil || json.Unmarshal(body, &keys) != nil {
		return writeError(w, fail(400005, "body is not a JSON object with the documented types"))
	}
	key, _ := keys[keyField[kind]].(string)
	switch {
	case key == "":
		return writeError(w, fail(400003, "%s is empty", keyField[kind]))
	case req.VersionCode == 0:
		return writeError(w, fail(400003, "versionCode is missing or 0"))
	case kind == "lnx" && req.Arch == "":
		return writeError(w, fail(400002, "arch is required"))
	}
	s.mu.Lock()
	st, ok := s.strategies[kind+"/"+key]
	s.mu.Unlock()
	if !ok {
		return writeError(w, fail(404001, "Доступная версия не получена"))
	}
	if req.VersionCode >= st.VersionCode || (req.AppointVersionCode != 0 && req.AppointVersionCode != st.VersionCode) ||
		(st.Arch != "" && st.Arch != req.Arch) {
		return writeData(w, 0, "已经是最新版本", kind, "", Strategy{})
	}
	return writeData(w, 200, "Получена новая версия", kind, key, st)
}

// writeData answers with the strategy shaped as the kind's data object; the
// zero Strategy gives the self-hosted "latest" shape of zero values.
func writeData(w http.ResponseWriter, code int64, msg, kind, key string, st Strategy) (int, int64) {
	data := map[string]any{
		keyField[kind]: key, "versionName": st.VersionName, "versionCode": st.VersionCode,
		"upgradeType": st.UpgradeType, "promptUpgradeContent": st.PromptUpgradeContent,
	}
	switch kind {
	case "configuration":
		data["content"] = st.Content
		if st.Content == nil {
			data["content"] = nil
		}
	case "file":
		data["urlPath"], data["urlFileSize"] = st.URLPath, st.URLFileSize
	case "url":
		data["urlPath"] = st.URLPath
	case "lnx":
		data["urlPath"], data["urlFileSize"], data["urlFileMd5"], data["packageName"] = st.URLPath, st.URLFileSize, st.URLFileMd5, st.PackageName
	}
	b, _ := json.Marshal(map[string]any{"code": code, "msg": msg, "docs": "", "data": data})
	writeJSON(w, http.StatusOK, b)
	return http.StatusOK, code
}

func (s *Server) report(w http.ResponseWriter, body []byte) (int, int64) {
	var rep Report
	if err := json.Unmarshal(body, &rep); err != nil {
		return writeError(w, fail(400005, "body is not a report object: %v", err))
	}
	need := map[string]string{"app_upgrade_download": "downloadVersionCode", "app_upgrade_upgrade": "upgradeVersionCode", "app_start": "launchTime"}[rep.EventType]
	switch {
	case need == "":
		return writeError(w, fail(400003, "eventType %q is not app_start, app_upgrade_download or app_upgrade_upgrade", rep.EventType))
	case rep.AppKey == "":
		return writeError(w, fail(400002, "appKey is required"))
	case rep.EventData[need] == nil:
		return writeError(w, fail(400002, "eventData.%s is required", need))
	case rep.EventType != "app_start" && rep.EventData["code"] == nil:
		return writeError(w, fail(400002, "eventData.code is required"))
	}
	if _, err := time.Parse(time.RFC3339, rep.Timestamp); err != nil {
		return writeError(w, fail(500001, "timestamp %q is not RFC 3339", rep.Timestamp))
	}
	s.mu.Lock()
	s.reports = append(s.reports, rep)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, []byte(`{"code":0,"msg":"上报成功","docs":""}`))
	return http.StatusOK, 0
}
