// Package state keeps what the agent knows across restarts and power cuts
// (SPEC §9): per component the installed version, the phase of an install in
// progress, held offers and failed versions; the queue of reports not yet
// delivered; the last decisions and poll times.
//
// The file is <state_dir>/state.json, replaced atomically by Store.Save (temp
// file in the same directory, fsync, rename, directory fsync), so a reader
// sees either the old or the new state, never a mix. One process installs at
// a time: Store.Lock takes an flock on <state_dir>/lock.
package state

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"ota-agent/transport"
)

// Phase is where a component's install stands. Persisted values; never
// rename them, a device upgraded from an older agent reads them back.
type Phase string

const (
	Idle        Phase = "idle"        // nothing in progress
	Downloading Phase = "downloading" // fetching the package (staging or straight into a slot)
	Verifying   Phase = "verifying"   // digest / read-back check of what was fetched
	Installing  Phase = "installing"  // handing a verified image to the target (flash, replace, arm)
	Rebooting   Phase = "rebooting"   // A/B slot armed; waiting to come back up in it
	Committing  Phase = "committing"  // booted the new slot; health checks and commit
	Failed      Phase = "failed"      // the last install failed; see LastError
)

// Valid reports whether p is one of the known phases ("" counts as Idle).
func (p Phase) Valid() bool {
	switch p {
	case "", Idle, Downloading, Verifying, Installing, Rebooting, Committing, Failed:
		return true
	}
	return false
}

// Progress is bytes done out of total (0 = unknown).
type Progress struct {
	Done  int64 `json:"done"`
	Total int64 `json:"total"`
}

// Held is a prompt offer waiting for `ota-agent approve` or prompt_timeout.
type Held struct {
	Offer    transport.Offer `json:"offer"`
	Since    time.Time       `json:"held_since"`
	Approved bool            `json:"approved"`
}

// FailedVersion is a version policy will not offer again (unless forced).
type FailedVersion struct {
	Version string    `json:"version"`
	Reason  string    `json:"reason"`
	At      time.Time `json:"at"`
}

// Component is the persisted state of one configured component.
type Component struct {
	// Version is the version the agent installed; empty until it installed
	// one (then config version / version_command apply).
	Version       string           `json:"version,omitempty"`
	Phase         Phase            `json:"phase"`
	TargetVersion string           `json:"target_version,omitempty"`
	FromVersion   string           `json:"from_version,omitempty"` // version before the install in progress
	Offer         *transport.Offer `json:"offer,omitempty"`        // the offer being installed
	Slot          string           `json:"slot,omitempty"`         // A/B: the slot armed
	BootID        string           `json:"boot_id,omitempty"`      // A/B: the boot in which the slot was armed
	Progress      Progress         `json:"progress"`
	Held          *Held            `json:"held,omitempty"`
	Failed        []FailedVersion  `json:"failed_versions,omitempty"`
	LastError     string           `json:"last_error,omitempty"`
	// Attempts counts install attempts per version (the loop breaker).
	Attempts map[string]int `json:"attempts,omitempty"`
	// Written describes an A/B image written in full and awaiting its
	// read-back: a restart during the read-back reads back again instead of
	// downloading again.
	Written *Written `json:"written,omitempty"`
	// Highest is the highest version installed (anti-rollback: a signed
	// package older than it is refused unless policy.allow_downgrade).
	Highest string `json:"highest_version,omitempty"`
	// Proof says what proved the version installed last (a signature's key
	// ID, or a digest).
	Proof string `json:"proof,omitempty"`
}

// Written is an image written in full into an A/B slot. Persisted field
// names; never rename.
type Written struct {
	Version string `json:"version"`
	URL     string `json:"url"`
	Slot    string `json:"slot"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"` // of the image as written
	Proof   string `json:"proof"`  // which signature or digest proved it
	// SignedVersion is the version the signature or manifest gives, if any.
	SignedVersion string `json:"signed_version,omitempty"`
	// Parts are the package's other components' images, staged and checked
	// against the manifest (one update with this one).
	Parts []Member `json:"parts,omitempty"`
}

// Decision is one policy verdict as shown by check and status.
type Decision struct {
	Component string `json:"component"`
	Version   string `json:"version"`
	Action    string `json:"action"`
	Reason    string `json:"reason"`
}

// State is the whole content of state.json. The zero value is a valid
// fresh state.
type State struct {
	Components map[string]*Component `json:"components"`
	// Reports are queued before they are sent and removed once delivered.
	Reports   []transport.Report `json:"pending_reports,omitempty"`
	Decisions []Decision         `json:"last_decisions,omitempty"`
	LastCheck time.Time          `json:"last_check,omitzero"`
	NextCheck time.Time          `json:"next_check,omitzero"`
	// Set is the multi-component update in progress, if any.
	Set *Set `json:"set,omitempty"`
	// Warning says why the state was restarted (a corrupt file moved aside);
	// status shows it until an operator deletes it.
	Warning string `json:"state_warning,omitempty"`
}

// Component returns the state of name, creating it if needed.
func (s *State) Component(name string) *Component {
	if s.Components == nil {
		s.Components = map[string]*Component{}
	}
	c := s.Components[name]
	if c == nil {
		c = &Component{Phase: Idle}
		s.Components[name] = c
	}
	return c
}

// IsFailed reports whether version is on c's failed list.
func (c *Component) IsFailed(version string) bool {
	return slices.ContainsFunc(c.Failed, func(f FailedVersion) bool { return f.Version == version })
}

// FailedList returns the versions on c's failed list.
func (c *Component) FailedList() []string {
	out := make([]string, 0, len(c.Failed))
	for _, f := range c.Failed {
		out = append(out, f.Version)
	}
	return out
}

// MarkFailed puts version on the failed list (once) with reason.
func (c *Component) MarkFailed(version, reason string, now time.Time) {
	if c.IsFailed(version) {
		return
	}
	c.Failed = append(c.Failed, FailedVersion{Version: version, Reason: reason, At: now.UTC()})
}

// Attempt counts one more install attempt of version and returns the count.
func (c *Component) Attempt(version string) int {
	if c.Attempts == nil {
		c.Attempts = map[string]int{}
	}
	c.Attempts[version]++
	return c.Attempts[version]
}

// Decode parses a state.json. It rejects what a valid agent never writes
// (unknown phases, negative progress, unnamed components), so a damaged file
// is noticed instead of acted on.
func Decode(b []byte) (*State, error) {
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode state: %w", err)
	}
	for name, c := range s.Components {
		if name == "" || c == nil {
			return nil, fmt.Errorf("decode state: empty component entry %q", name)
		}
		if !c.Phase.Valid() {
			return nil, fmt.Errorf("decode state: component %s: unknown phase %q", name, c.Phase)
		}
		if c.Phase == "" {
			c.Phase = Idle
		}
		if c.Progress.Done < 0 || c.Progress.Total < 0 {
			return nil, fmt.Errorf("decode state: component %s: negative progress %d/%d", name, c.Progress.Done, c.Progress.Total)
		}
	}
	return &s, nil
}

// Encode returns s as indented JSON with a final newline.
func Encode(s *State) ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode state: %w", err)
	}
	return append(b, '\n'), nil
}

// Clone returns a deep copy of s (through its encoding).
func (s *State) Clone() *State {
	c, err := s.Copy()
	if err != nil {
		return &State{}
	}
	return c
}

// Copy returns a deep copy of s, or why it cannot.
func (s *State) Copy() (*State, error) {
	b, err := Encode(s)
	if err != nil {
		return nil, err
	}
	return Decode(b)
}
