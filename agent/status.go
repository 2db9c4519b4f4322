package agent

import (
	"context"
	"os"
	"time"

	"ota-agent/agent/config"
	"ota-agent/agent/state"
)

// Status is what `ota-agent status --json` prints (SPEC §7).
type Status struct {
	Components []ComponentStatus `json:"components"`
	LastCheck  *time.Time        `json:"last_check"`
	NextCheck  *time.Time        `json:"next_check"`
	Decisions  []state.Decision  `json:"last_decisions,omitempty"`
	Pending    int               `json:"pending_reports"`
	Warning    string            `json:"state_warning,omitempty"`
	Daemon     bool              `json:"daemon"` // answered by a running daemon
	// Trust says what an install needs to be armed or flashed: signatures
	// by which keys, or digests, or (loudly) nothing.
	Trust TrustStatus `json:"trust"`
}

// TrustStatus is the install-path guarantee in force.
type TrustStatus struct {
	RequireSignature bool     `json:"require_signature"`
	KeyIDs           []string `json:"key_ids,omitempty"`
	AllowUnverified  bool     `json:"allow_unverified"`
}

// Warning returns the line check and status print when the guarantee is
// loosened, or "".
func (t TrustStatus) Warning() string {
	if t.AllowUnverified && !t.RequireSignature {
		return "WARNING: download.allow_unverified = true: images that no digest or signature proved are flashed and armed"
	}
	return ""
}

// Trust returns the guarantee the configuration sets.
func Trust(cfg *config.Config) TrustStatus {
	t := TrustStatus{RequireSignature: cfg.Security.Required(), AllowUnverified: cfg.Download.AllowUnverified}
	if k, err := cfg.Security.ParseKeys(); err == nil {
		t.KeyIDs = k.IDs()
	}
	return t
}

// ComponentStatus is one component in Status.
type ComponentStatus struct {
	Name           string         `json:"name"`
	Type           config.Kind    `json:"type"`
	Version        string         `json:"version"`
	Phase          state.Phase    `json:"phase"`
	TargetVersion  string         `json:"target_version"`
	Progress       state.Progress `json:"progress"`
	Held           bool           `json:"held"`
	HeldVersion    string         `json:"held_version,omitempty"`
	HeldSince      *time.Time     `json:"held_since,omitempty"`
	Approved       bool           `json:"approved,omitempty"`
	FailedVersions []string       `json:"failed_versions"`
	LastError      string         `json:"last_error"`
	// Proof is what proved the version installed last (signer key ID or digest).
	Proof string `json:"proof,omitempty"`
	// Rollback says whether a failed update can put this component back:
	// its last good image is kept (A/B components roll back by the boot).
	Rollback bool `json:"rollback"`
}

// BuildStatus assembles the status of every configured component from st.
func BuildStatus(ctx context.Context, cfg *config.Config, st *state.State) Status {
	s := Status{Decisions: st.Decisions, Pending: len(st.Reports), Warning: st.Warning, Components: []ComponentStatus{}, Trust: Trust(cfg)}
	if !st.LastCheck.IsZero() {
		t := st.LastCheck
		s.LastCheck = &t
	}
	if !st.NextCheck.IsZero() {
		t := st.NextCheck
		s.NextCheck = &t
	}
	for i := range cfg.Components {
		s.Components = append(s.Components, componentStatus(ctx, cfg, &cfg.Components[i], st))
	}
	return s
}

// canRollBack reports whether c can be put back after a failed update.
func canRollBack(cfg *config.Config, c *config.Component) bool {
	if c.Type == config.KindAB {
		return true
	}
	_, err := os.Stat(keptPath(cfg.Device.StateDir, c.Name))
	return c.Restorable() && err == nil
}

func componentStatus(ctx context.Context, cfg *config.Config, c *config.Component, st *state.State) ComponentStatus {
	cs := ComponentStatus{Name: c.Name, Type: c.Type, Phase: state.Idle, FailedVersions: []string{}, Rollback: canRollBack(cfg, c)}
	v, err := CurrentVersion(ctx, c, st)
	cs.Version = v
	if err != nil {
		cs.LastError = err.Error()
	}
	p := st.Components[c.Name]
	if p == nil {
		return cs
	}
	cs.Phase, cs.TargetVersion, cs.Progress = p.Phase, p.TargetVersion, p.Progress
	cs.FailedVersions, cs.Proof = p.FailedList(), p.Proof
	if p.LastError != "" {
		cs.LastError = p.LastError
	}
	if p.Held != nil {
		since := p.Held.Since
		cs.Held, cs.HeldVersion, cs.HeldSince, cs.Approved = true, p.Held.Offer.Version, &since, p.Held.Approved
	}
	return cs
}
