package hawkbittest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
)

var (
	executions = []string{"closed", "proceeding", "canceled", "scheduled", "rejected", "resumed", "downloaded", "download"}
	finishes   = []string{"success", "failure", "none"}
)

// maxMessages is maxMessagesPerActionStatus (reference §6).
const maxMessages = 50

// wireFeedback is ActionFeedback; unknown fields (id, time) are ignored.
type wireFeedback struct {
	Timestamp *int64 `json:"timestamp"`
	Status    *struct {
		Execution *string `json:"execution"`
		Result    *struct {
			Finished *string `json:"finished"`
			Progress *struct {
				Cnt *int `json:"cnt"`
				Of  *int `json:"of"`
			} `json:"progress"`
		} `json:"result"`
		Code    *int            `json:"code"`
		Details json.RawMessage `json:"details"`
	} `json:"status"`
}

// parseFeedback validates a feedback body as hawkBit does; ok false
// means 400.
func parseFeedback(b []byte) (Feedback, bool) {
	var f wireFeedback
	if json.Unmarshal(b, &f) != nil || f.Status == nil || f.Status.Execution == nil || f.Status.Result == nil || f.Status.Result.Finished == nil {
		return Feedback{}, false
	}
	st := f.Status
	if !slices.Contains(executions, *st.Execution) || !slices.Contains(finishes, *st.Result.Finished) {
		return Feedback{}, false
	}
	out := Feedback{Execution: *st.Execution, Finished: *st.Result.Finished}
	if p := st.Result.Progress; p != nil {
		var cnt, of int
		if p.Cnt != nil {
			cnt = *p.Cnt
		}
		if p.Of != nil {
			of = *p.Of
		}
		out.Progress = &[2]int{cnt, of}
	}
	details, ok := parseDetails(st.Details)
	out.Details = details
	return out, ok
}

// parseDetails accepts a list of strings or a single string
// (accept-single-value-as-array).
func parseDetails(raw json.RawMessage) ([]string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, true
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list, true
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, true
	}
	return nil, false
}

// postFeedback handles deploymentBase and cancelAction feedback.
func (s *Server) postFeedback(w http.ResponseWriter, r *http.Request, id string, cancel bool) {
	a := s.lookup(id)
	if a == nil {
		notFound(w, "Action", id)
		return
	}
	b, ok := jsonBody(w, r)
	if !ok {
		return
	}
	f, ok := parseFeedback(b)
	if !ok {
		notReadable(w)
		return
	}
	if len(f.Details) > maxMessages {
		exception(w, http.StatusTooManyRequests, "org.eclipse.hawkbit.repository.exception.AssignmentQuotaExceededException",
			"hawkbit.server.error.quota.tooManyEntries", "Quota exceeded: too many messages")
		return
	}
	f.Action, f.Cancel = a.ID, cancel
	if cancel {
		s.cancelFeedback(w, a, f)
		return
	}
	if a.State != Running && a.State != Canceling {
		w.WriteHeader(http.StatusGone)
		return
	}
	s.feedback = append(s.feedback, f)
	s.apply(a, f)
	w.WriteHeader(http.StatusOK)
}

// apply is the effect of deployment feedback (reference §6 table).
func (s *Server) apply(a *Action, f Feedback) {
	switch {
	case f.Execution == "downloaded" && a.Type == DownloadOnly:
		a.State = Downloaded
		s.wantConfig = true
	case f.Execution == "closed" && f.Finished == "failure":
		a.State = Errored
	case f.Execution == "closed":
		a.State = Finished
		s.installed = a.ID
		s.wantConfig = true
	}
}

// cancelFeedback is the effect of cancel feedback (reference §8 table).
func (s *Server) cancelFeedback(w http.ResponseWriter, a *Action, f Feedback) {
	if a.State != Canceling && a.State != Canceled {
		exception(w, http.StatusMethodNotAllowed, "org.eclipse.hawkbit.repository.exception.CancelActionNotAllowedException",
			"hawkbit.server.error.action.notCancelable", "The action is not in canceling state.")
		return
	}
	s.feedback = append(s.feedback, f)
	switch {
	case f.Execution == "closed" && f.Finished == "failure", f.Execution == "rejected":
		a.State = Running
	case f.Execution == "closed":
		a.State = Canceled
	}
	w.WriteHeader(http.StatusOK)
}

// artifact serves a file or its .MD5SUM, 404 unless the module belongs to
// an active, non-canceling action.
func (s *Server) artifact(w http.ResponseWriter, r *http.Request, module, name string) {
	art := s.findArtifact(module, strings.TrimSuffix(name, ".MD5SUM"))
	if art == nil {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	m5, s1, _ := Digests(art.Data)
	if strings.HasSuffix(name, ".MD5SUM") {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(m5 + "  " + art.Filename))
		return
	}
	if im := r.Header.Get("If-Match"); im != "" && !ifMatch(im, s1) {
		w.WriteHeader(http.StatusPreconditionFailed)
		return
	}
	w.Header().Set("ETag", `"`+s1+`"`)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", "attachment;filename="+art.Filename)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(art.Data))
}

// ifMatch compares comma-separated tokens with the bare sha1, or *.
func ifMatch(h, sha1 string) bool {
	for _, t := range strings.Split(h, ",") {
		if t = strings.TrimSpace(t); t == "*" || t == sha1 {
			return true
		}
	}
	return false
}

func (s *Server) findArtifact(module, name string) *Artifact {
	a := s.active()
	if a == nil || a.State != Running {
		return nil
	}
	for _, ch := range a.Chunks {
		if itoa(ch.ModuleID) != module {
			continue
		}
		for i := range ch.Artifacts {
			if ch.Artifacts[i].Filename == name {
				return &ch.Artifacts[i]
			}
		}
	}
	return nil
}
