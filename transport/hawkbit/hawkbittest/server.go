// Package hawkbittest is a fake hawkBit DDI server written from
// shared/reference/hawkbit-ddi.md: target and gateway token auth (401 with
// an empty body), the poll with its link rules and polling sleep,
// deploymentBase with the download/update matrix and maintenance windows,
// strict feedback validation (400, 404, 410), cancelAction (405 when not
// canceling), configData, artifacts with Range and .MD5SUM, and fault knobs.
package hawkbittest

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
)

// Type is a hawkBit action type.
type Type string

// Action types (reference §5 matrix).
const (
	Soft         Type = "soft"
	Forced       Type = "forced"
	DownloadOnly Type = "downloadonly"
)

// Window is an action's maintenance schedule.
type Window string

// Maintenance windows: none, open, closed.
const (
	NoWindow     Window = ""
	WindowOpen   Window = "available"
	WindowClosed Window = "unavailable"
)

// State is an action's server-side state.
type State string

// Action states.
const (
	Running    State = "RUNNING"
	Canceling  State = "CANCELING"
	Canceled   State = "CANCELED"
	Finished   State = "FINISHED"
	Errored    State = "ERROR"
	Downloaded State = "DOWNLOADED"
)

// Artifact is one file of a chunk.
type Artifact struct {
	Filename   string
	Data       []byte
	OmitSHA256 bool // hawkBit omits an unknown sha256
	OmitMD5    bool // not something hawkBit does; for refusal tests
	BadSHA1    bool // advertise a wrong sha1
}

// Chunk is one software module.
type Chunk struct {
	Part, Name, Version string
	Artifacts           []Artifact
	ModuleID            int
}

// Action is one deployment.
type Action struct {
	ID     int
	Type   Type
	Window Window
	Chunks []Chunk
	State  State
}

// Feedback is one feedback the server accepted, in arrival order.
type Feedback struct {
	Action    int
	Cancel    bool // posted to cancelAction/{id}/feedback
	Execution string
	Finished  string
	Progress  *[2]int // cnt, of
	Details   []string
}

// Request is one request the server saw.
type Request struct {
	Method, Path, Auth string
}

// Fault is a status the server answers instead, N times, for requests
// whose path contains Match (and whose method is Method, when set).
type Fault struct {
	Match, Method string
	Status        int
	RetryAfter    string
	N             int
}

// Server is the fake. Set fields before the first request or under its
// methods; it is safe for concurrent use.
type Server struct {
	*httptest.Server
	Tenant, ControllerID string
	TargetToken          string // "" = target token auth disabled
	GatewayToken         string // "" = gateway token auth disabled

	mu         sync.Mutex
	sleep      string
	actions    []*Action
	feedback   []Feedback
	reqs       []Request
	faults     []*Fault
	attrs      map[string]string
	wantConfig bool
	linkBase   string // overrides scheme://host of every href; "" = the request's
	installed  int    // last finished action id
	rawBody    map[string][]byte
}

// New starts a fake for tenant DEFAULT and controller id, with target
// token auth. The test's cleanup closes it.
func New(t interface{ Cleanup(func()) }, id, token string) *Server {
	s := Start(id, token)
	t.Cleanup(s.Close)
	return s
}

// Start is New without a test: the caller closes the server (ota-sim demo).
func Start(id, token string) *Server {
	s := &Server{Tenant: "DEFAULT", ControllerID: id, TargetToken: token, sleep: "00:05:00",
		attrs: map[string]string{}, wantConfig: true, rawBody: map[string][]byte{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// ForceQuit ends an open action at once, without asking the device, as
// the Management API's force-quit of a canceled action does (and as a new
// assignment replacing it does in the demo).
func (s *Server) ForceQuit(id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.find(id); a != nil && (a.State == Running || a.State == Canceling) {
		a.State = Canceled
	}
}

// Base is the controller base URL.
func (s *Server) Base() string {
	return s.URL + "/" + s.Tenant + "/controller/v1/" + s.ControllerID
}

// Add adds an open action; chunk module ids default to their position.
func (s *Server) Add(a Action) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range a.Chunks {
		if a.Chunks[i].ModuleID == 0 {
			a.Chunks[i].ModuleID = a.ID*100 + i + 1
		}
	}
	a.State = Running
	s.actions = append(s.actions, &a)
}

// Cancel puts an open action into CANCELING, as an operator would.
func (s *Server) Cancel(id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.find(id); a != nil && a.State == Running {
		a.State = Canceling
	}
}

// SetWindow opens or closes an action's maintenance window.
func (s *Server) SetWindow(id int, w Window) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.find(id); a != nil {
		a.Window = w
	}
}

// SetSleep sets config.polling.sleep ("" omits it).
func (s *Server) SetSleep(v string) { s.mu.Lock(); s.sleep = v; s.mu.Unlock() }

// SetLinkBase makes every href start with base (e.g. another host).
func (s *Server) SetLinkBase(base string) { s.mu.Lock(); s.linkBase = base; s.mu.Unlock() }

// SetRaw makes the server answer a GET of path (below the base) with body.
func (s *Server) SetRaw(path string, body []byte) { s.mu.Lock(); s.rawBody[path] = body; s.mu.Unlock() }

// AskConfig makes the next polls carry a configData link.
func (s *Server) AskConfig() { s.mu.Lock(); s.wantConfig = true; s.mu.Unlock() }

// Fail adds a fault.
func (s *Server) Fail(f Fault) { s.mu.Lock(); s.faults = append(s.faults, &f); s.mu.Unlock() }

// State returns an action's state.
func (s *Server) State(id int) State {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.find(id); a != nil {
		return a.State
	}
	return ""
}

// Feedback returns the accepted feedback in order.
func (s *Server) Feedback() []Feedback {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Feedback(nil), s.feedback...)
}

// Attributes returns the stored target attributes.
func (s *Server) Attributes() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for k, v := range s.attrs {
		out[k] = v
	}
	return out
}

// Requests returns the requests seen.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

func (s *Server) find(id int) *Action {
	for _, a := range s.actions {
		if a.ID == id {
			return a
		}
	}
	return nil
}

// active returns the action the poll exposes: the oldest active one.
func (s *Server) active() *Action {
	for _, a := range s.actions {
		if a.State == Running || a.State == Canceling {
			return a
		}
	}
	return nil
}

// Digests of b as hawkBit sends them (lower-case hex).
func Digests(b []byte) (md5hex, sha1hex, sha256hex string) {
	m, s1, s2 := md5.Sum(b), sha1.Sum(b), sha256.Sum256(b)
	return hex.EncodeToString(m[:]), hex.EncodeToString(s1[:]), hex.EncodeToString(s2[:])
}

func itoa(i int) string { return strconv.Itoa(i) }

// fault returns the fault matching r, consuming one of its N.
func (s *Server) fault(r *http.Request) *Fault {
	for _, f := range s.faults {
		if f.N > 0 && strings.Contains(r.URL.Path, f.Match) && (f.Method == "" || f.Method == r.Method) {
			f.N--
			return f
		}
	}
	return nil
}

func (s *Server) String() string { return fmt.Sprintf("hawkbittest %s", s.URL) }
