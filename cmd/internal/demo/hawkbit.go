package demo

import (
	"fmt"
	"slices"
	"sync"

	"ota-agent/transport/hawkbit/hawkbittest"
)

// Hawkbit identities of the demo's board on the fake DDI server.
const (
	HawkbitController = "demo-cam-0001" // the [device] id WriteConfig writes
	hawkbitToken      = "demo-target-token"
)

// hawkbitComponents are the components a hawkBit deployment carries, one
// chunk each, named after the component.
var hawkbitComponents = []string{"rootfs", "mcu", "wifi"}

// hawkbitServer offers a distribution set of rootfs, mcu and wifi chunks
// as one hawkBit action. A Publish while an action is open replaces the
// chunks of the same components and keeps the others, as an operator
// assigning an amended distribution set would; the old action is
// force-quit so that the board sees only the new one.
type hawkbitServer struct {
	s    *hawkbittest.Server
	mu   sync.Mutex
	last hawkbittest.Action // the newest action published (ID 0: none)
}

func newHawkbitServer() *hawkbitServer {
	return &hawkbitServer{s: hawkbittest.Start(HawkbitController, hawkbitToken)}
}

func (h *hawkbitServer) API() string      { return "hawkbit" }
func (h *hawkbitServer) Offers() []string { return slices.Clone(hawkbitComponents) }
func (h *hawkbitServer) Close()           { h.s.Close() }

// Host returns "": a DDI server serves only the artifacts of an action.
func (h *hawkbitServer) Host(string, []byte) string { return "" }

// Fake is the fake DDI server, for tests that look at its actions.
func (h *hawkbitServer) Fake() *hawkbittest.Server { return h.s }

func (h *hawkbitServer) TOML(dir string, comps []string) (string, error) {
	tok, err := writeSecret(dir, "hawkbit.token", hawkbitToken)
	if err != nil {
		return "", err
	}
	chunks := ""
	for _, c := range hawkbitComponents {
		if slices.Contains(comps, c) {
			if chunks != "" {
				chunks += ", "
			}
			chunks += fmt.Sprintf("%s = %q", c, c)
		}
	}
	return fmt.Sprintf("[server]\napi = \"hawkbit\"\nbase_url = %q\n\n[server.hawkbit]\ntenant = %q\ncontroller_id = %q\ntarget_token_file = %q\nchunks = { %s }\n",
		h.s.URL, h.s.Tenant, HawkbitController, tok, chunks), nil
}

// Publish assigns a new action: one chunk per firmware (forced when any is
// UpgradeType "forced", soft otherwise), plus the open action's chunks of
// other components.
func (h *hawkbitServer) Publish(fws ...Firmware) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := hawkbittest.Action{ID: h.last.ID + 1, Type: hawkbittest.Soft}
	for _, fw := range fws {
		if !slices.Contains(hawkbitComponents, fw.Component) {
			return fmt.Errorf("demo: hawkbit deployments carry rootfs, mcu and wifi chunks, not %s", fw.Component)
		}
		if fw.UpgradeType == "forced" {
			a.Type = hawkbittest.Forced
		}
		a.Chunks = append(a.Chunks, hawkbitChunk(fw))
	}
	if h.last.ID != 0 && h.s.State(h.last.ID) == hawkbittest.Running {
		a.Chunks = append(a.Chunks, kept(h.last.Chunks, a.Chunks)...)
		h.s.ForceQuit(h.last.ID)
	}
	h.s.Add(a)
	h.last = a
	return nil
}

// hawkbitChunk is fw as a chunk named after its component.
func hawkbitChunk(fw Firmware) hawkbittest.Chunk {
	part := "firmware"
	if fw.Component == "rootfs" {
		part = "os"
	}
	file := fmt.Sprintf("%s-%s.zip", fw.Component, fw.Version)
	return hawkbittest.Chunk{Part: part, Name: fw.Component, Version: fw.Version,
		Artifacts: []hawkbittest.Artifact{{Filename: file, Data: fw.Data}}}
}

// kept returns the chunks of old whose component is not in repl.
func kept(old, repl []hawkbittest.Chunk) []hawkbittest.Chunk {
	var out []hawkbittest.Chunk
	for _, c := range old {
		if !slices.ContainsFunc(repl, func(r hawkbittest.Chunk) bool { return r.Name == c.Name }) {
			c.ModuleID = 0 // numbered afresh under the new action
			out = append(out, c)
		}
	}
	return out
}

func (h *hawkbitServer) Received() []string {
	var out []string
	for _, r := range h.s.Requests() {
		out = append(out, r.Method+" "+r.Path)
	}
	for _, f := range h.s.Feedback() {
		l := fmt.Sprintf("feedback action %d: %s/%s", f.Action, f.Execution, f.Finished)
		if f.Progress != nil {
			l += fmt.Sprintf(" %d/%d", f.Progress[0], f.Progress[1])
		}
		if len(f.Details) > 0 {
			l += " " + f.Details[0]
		}
		out = append(out, l)
	}
	return out
}
