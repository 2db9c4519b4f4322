package hawkbittest

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// serve routes one request: auth, faults, then the DDI resource.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: r.URL.Path, Auth: r.Header.Get("Authorization")})
	if f := s.fault(r); f != nil {
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		w.WriteHeader(f.Status)
		return
	}
	prefix := "/" + s.Tenant + "/controller/v1/" + s.ControllerID
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok || (rest != "" && rest[0] != '/') {
		notFound(w, "Target", s.ControllerID)
		return
	}
	if !s.authorized(r) {
		w.WriteHeader(http.StatusUnauthorized) // empty body, no WWW-Authenticate (reference §2)
		return
	}
	if b, ok := s.rawBody[rest]; ok && r.Method == http.MethodGet {
		w.Header().Set("Content-Type", "application/hal+json")
		w.Write(b)
		return
	}
	s.route(w, r, rest)
}

// authorized checks the Authorization header: the scheme prefix with one
// space, case-sensitive, then the token byte for byte.
func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if t, ok := strings.CutPrefix(h, "TargetToken "); ok && s.TargetToken != "" {
		return t == s.TargetToken
	}
	if t, ok := strings.CutPrefix(h, "GatewayToken "); ok && s.GatewayToken != "" {
		return t == s.GatewayToken
	}
	return false
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, rest string) {
	seg := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	switch {
	case rest == "":
		s.method(w, r, http.MethodGet, s.poll)
	case rest == "/configData":
		s.method(w, r, http.MethodPut, s.configData)
	case len(seg) == 2 && seg[0] == "deploymentBase":
		s.method(w, r, http.MethodGet, func(w http.ResponseWriter, r *http.Request) { s.deployment(w, r, seg[1]) })
	case len(seg) == 3 && seg[0] == "deploymentBase" && seg[2] == "feedback":
		s.method(w, r, http.MethodPost, func(w http.ResponseWriter, r *http.Request) { s.postFeedback(w, r, seg[1], false) })
	case len(seg) == 2 && seg[0] == "cancelAction":
		s.method(w, r, http.MethodGet, func(w http.ResponseWriter, r *http.Request) { s.cancelAction(w, seg[1]) })
	case len(seg) == 3 && seg[0] == "cancelAction" && seg[2] == "feedback":
		s.method(w, r, http.MethodPost, func(w http.ResponseWriter, r *http.Request) { s.postFeedback(w, r, seg[1], true) })
	case len(seg) == 4 && seg[0] == "softwaremodules" && seg[2] == "artifacts":
		s.method(w, r, http.MethodGet, func(w http.ResponseWriter, r *http.Request) { s.artifact(w, r, seg[1], seg[3]) })
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// method answers 405 to any method but want.
func (s *Server) method(w http.ResponseWriter, r *http.Request, want string, h http.HandlerFunc) {
	if r.Method != want {
		w.Header().Set("Allow", want)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	h(w, r)
}

// href builds an absolute link from the request's host (reference §4).
func (s *Server) href(r *http.Request, rest string) map[string]string {
	base := "http://" + r.Host
	if s.linkBase != "" {
		base = s.linkBase
	}
	return map[string]string{"href": base + "/" + s.Tenant + "/controller/v1/" + s.ControllerID + rest}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/hal+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// exception writes an ExceptionInfo body (reference §12).
func exception(w http.ResponseWriter, status int, class, code, msg string) {
	writeJSON(w, status, map[string]any{"exceptionClass": class, "errorCode": code, "message": msg})
}

func notFound(w http.ResponseWriter, typ, id string) {
	exception(w, http.StatusNotFound, "org.eclipse.hawkbit.repository.exception.EntityNotFoundException",
		"hawkbit.server.error.repo.entityNotFound", typ+" with given identifier {"+id+"} does not exist.")
}

func notReadable(w http.ResponseWriter) {
	exception(w, http.StatusBadRequest, "org.eclipse.hawkbit.rest.exception.MessageNotReadableException",
		"hawkbit.server.error.rest.body.notReadable", "The given request body is not well formed")
}

// poll answers the controller base with at most one action link.
func (s *Server) poll(w http.ResponseWriter, r *http.Request) {
	out := map[string]any{}
	if s.sleep != "" {
		out["config"] = map[string]any{"polling": map[string]string{"sleep": s.sleep}}
	}
	links := map[string]any{}
	if a := s.active(); a != nil {
		id := itoa(a.ID)
		if a.State == Canceling {
			links["cancelAction"] = s.href(r, "/cancelAction/"+id)
		} else {
			links["deploymentBase"] = s.href(r, "/deploymentBase/"+id+"?c="+s.hash(a))
		}
	}
	if s.installed != 0 {
		links["installedBase"] = s.href(r, "/installedBase/"+itoa(s.installed))
	}
	if s.wantConfig {
		links["configData"] = s.href(r, "/configData")
	}
	if len(links) > 0 {
		out["_links"] = links
	}
	writeJSON(w, http.StatusOK, out)
}

// hash is the c query: it changes when the handling changes (window).
func (s *Server) hash(a *Action) string {
	return strconv.Itoa(a.ID*7 + len(a.Window))
}

// modes is the download/update matrix of reference §5.
func modes(a *Action) (download, update string) {
	download = "attempt"
	if a.Type == Forced || a.Type == DownloadOnly {
		download = "forced"
	}
	update = download
	if a.Type == DownloadOnly || a.Window == WindowClosed {
		update = "skip"
	}
	return download, update
}

// deployment answers GET deploymentBase/{id}: 404 for an unknown or
// canceling action.
func (s *Server) deployment(w http.ResponseWriter, r *http.Request, id string) {
	a := s.lookup(id)
	if a == nil || a.State == Canceling || a.State == Canceled {
		notFound(w, "Action", id)
		return
	}
	download, update := modes(a)
	dep := map[string]any{"download": download, "update": update, "chunks": s.chunks(r, a)}
	if a.Window != NoWindow {
		dep["maintenanceWindow"] = string(a.Window)
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "deployment": dep})
}

func (s *Server) lookup(id string) *Action {
	n, err := strconv.Atoi(id)
	if err != nil {
		return nil
	}
	return s.find(n)
}

func (s *Server) chunks(r *http.Request, a *Action) []any {
	out := []any{}
	for _, ch := range a.Chunks {
		arts := []any{}
		for _, art := range ch.Artifacts {
			m5, s1, s256 := Digests(art.Data)
			h := map[string]string{"md5": m5, "sha1": s1, "sha256": s256}
			if art.OmitSHA256 {
				delete(h, "sha256")
			}
			if art.OmitMD5 {
				delete(h, "md5")
			}
			if art.BadSHA1 {
				h["sha1"] = strings.Repeat("0", 40)
			}
			p := "/softwaremodules/" + itoa(ch.ModuleID) + "/artifacts/" + art.Filename
			arts = append(arts, map[string]any{"filename": art.Filename, "hashes": h, "size": len(art.Data),
				"_links": map[string]any{"download-http": s.href(r, p), "md5sum-http": s.href(r, p+".MD5SUM")}})
		}
		out = append(out, map[string]any{"part": ch.Part, "version": ch.Version, "name": ch.Name, "artifacts": arts})
	}
	return out
}

// cancelAction answers GET cancelAction/{id}: 200 while canceling or
// canceled, else 404.
func (s *Server) cancelAction(w http.ResponseWriter, id string) {
	a := s.lookup(id)
	if a == nil || (a.State != Canceling && a.State != Canceled) {
		notFound(w, "Action", id)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "cancelAction": map[string]string{"stopId": id}})
}

// jsonBody checks the request's media type (415 otherwise) and reads it.
func jsonBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && mt != "application/cbor") {
		w.WriteHeader(http.StatusUnsupportedMediaType)
		return nil, false
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return nil, false
	}
	return b, true
}

// configData stores attributes (mode merge, replace or remove).
func (s *Server) configData(w http.ResponseWriter, r *http.Request) {
	b, ok := jsonBody(w, r)
	if !ok {
		return
	}
	var body struct {
		Mode string             `json:"mode"`
		Data map[string]*string `json:"data"`
	}
	if json.Unmarshal(b, &body) != nil || len(body.Data) == 0 || (body.Mode != "" && body.Mode != "merge" && body.Mode != "replace" && body.Mode != "remove") {
		notReadable(w)
		return
	}
	if body.Mode == "replace" {
		s.attrs = map[string]string{}
	}
	for k, v := range body.Data {
		switch {
		case body.Mode == "remove" || v == nil:
			delete(s.attrs, k)
		default:
			s.attrs[k] = *v
		}
	}
	s.wantConfig = false
	w.WriteHeader(http.StatusOK)
}
