package mxchiptest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Paths the fake serves; see the client package for their meaning.
const (
	CheckPath   = "/api/v1/ota/device/"
	VersionPath = "/api/v1/ota/version/"
)

// Error codes of the seed.
const (
	CodeOK         = 0
	CodeParamError = 10000
)

// envelope is the {meta,data} answer. The seed does not say which HTTP
// status comes with an error code; the fake sends 200 [inferred], so a
// client must decide on meta.code.
type envelope struct {
	Meta struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"meta"`
	Data any `json:"data"`
}

func writeEnvelope(w http.ResponseWriter, code int, msg string, data any) {
	var e envelope
	e.Meta.Code, e.Meta.Message, e.Data = code, msg, data
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(e)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{Method: r.Method, RequestURI: r.RequestURI, Header: r.Header.Clone(), Body: body})
	s.mu.Unlock()
	s.log.Debug("request", "method", r.Method, "uri", r.RequestURI)
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, FilePrefix):
		s.serveFile(w, r)
	case p+"/" == CheckPath || p+"/" == VersionPath:
		// Django's APPEND_SLASH: a permanent redirect to the slashed path,
		// which turns a PUT into a GET that then fails.
		http.Redirect(w, r, p+"/"+queryOf(r), http.StatusMovedPermanently)
	case p == CheckPath || p == VersionPath:
		s.serveAPI(w, r, body)
	default:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, "<h1>Not Found</h1><p>The requested resource was not found on this server.</p>")
	}
}

func queryOf(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	return "?" + r.URL.RawQuery
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, body []byte) {
	if !s.authorized(w, r) {
		return
	}
	want := map[string]string{CheckPath: http.MethodGet, VersionPath: http.MethodPut}[r.URL.Path]
	if r.Method != want {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusMethodNotAllowed)
		_, _ = io.WriteString(w, `{"detail":"Method \"`+r.Method+`\" not allowed."}`)
		return
	}
	if a, ok := s.canned(); ok {
		writeAnswer(w, a)
		return
	}
	if r.URL.Path == CheckPath {
		s.serveCheck(w, r.URL.Query())
		return
	}
	s.serveVersion(w, r, body)
}

// authorized checks "Authorization: token <key>" as Django REST framework's
// TokenAuthentication does (keyword case-insensitive) and answers its 401s.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	f := strings.Fields(r.Header.Get("Authorization"))
	detail := ""
	switch {
	case len(f) == 0 || !strings.EqualFold(f[0], "token"):
		detail = "Authentication credentials were not provided."
	case len(f) == 1:
		detail = "Invalid token header. No credentials provided."
	case len(f) > 2:
		detail = "Invalid token header. Token string should not contain spaces."
	case f[1] != s.token:
		detail = "Invalid token."
	default:
		return true
	}
	w.Header().Set("WWW-Authenticate", "Token")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	_ = json.NewEncoder(w).Encode(map[string]string{"detail": detail})
	return false
}

func (s *Server) serveCheck(w http.ResponseWriter, q url.Values) {
	for _, k := range []string{"product_id", "wifi_version", "mcu_version"} {
		if _, ok := q[k]; !ok {
			writeEnvelope(w, CodeParamError, "参数错误:缺少"+k+"参数", map[string]any{})
			return
		}
		if strings.TrimSpace(q.Get(k)) == "" {
			writeEnvelope(w, CodeParamError, "参数错误:"+k+"不能为空", map[string]any{})
			return
		}
	}
	if s.product != "" && q.Get("product_id") != s.product {
		writeEnvelope(w, CodeParamError, "参数错误:product不存在", map[string]any{})
		return
	}
	s.mu.Lock()
	files, raw := s.files, s.raw
	s.mu.Unlock()
	if files == nil {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(raw)
		return
	}
	current := map[int]string{0: q.Get("mcu_version"), 1: q.Get("wifi_version")}
	need := []File{}
	for _, f := range files {
		if strings.TrimSpace(current[f.OTAType]) != strings.TrimSpace(f.Version) {
			need = append(need, f)
		}
	}
	writeEnvelope(w, CodeOK, "ota file info", map[string]any{"need_ota": len(need) > 0, "files": need})
}

// serveVersion takes a JSON or form body, as Django REST framework does.
func (s *Server) serveVersion(w http.ResponseWriter, r *http.Request, body []byte) {
	var vr VersionReport
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		q, _ := url.ParseQuery(string(body))
		vr = VersionReport{DeviceID: q.Get("device_id"), WiFiVersion: q.Get("wifi_version"), MCUVersion: q.Get("mcu_version")}
	} else if err := json.Unmarshal(body, &vr); err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"detail": "JSON parse error - " + err.Error()})
		return
	}
	if vr.DeviceID == "" {
		writeEnvelope(w, CodeParamError, "参数错误:缺少device_id参数", map[string]any{})
		return
	}
	s.mu.Lock()
	s.reports = append(s.reports, vr)
	s.mu.Unlock()
	writeEnvelope(w, CodeOK, "update version ok", map[string]any{})
}
