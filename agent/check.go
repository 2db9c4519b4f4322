package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"ota-agent/agent/policy"
	"ota-agent/agent/state"
	"ota-agent/transport"
)

// CheckResult is what `ota-agent check --json` prints (SPEC §7).
type CheckResult struct {
	API       string            `json:"api"`
	CheckedAt time.Time         `json:"checked_at"`
	Offers    []transport.Offer `json:"offers"`
	Decisions []policy.Decision `json:"decisions"`
}

// CheckOptions change how offers are judged.
type CheckOptions struct {
	Force   bool // ignore the failed lists (update --force)
	Approve bool // approve held prompt offers (update --yes)
}

// ErrNoAPI is returned by Check when the agent was built without an API.
var ErrNoAPI = errors.New("no OTA API configured")

// Check asks the API once and judges every offer. It changes no state.
func (a *Agent) Check(ctx context.Context, o CheckOptions) (CheckResult, error) {
	res := CheckResult{API: a.cfg.Server.API, CheckedAt: time.Now().UTC(), Offers: []transport.Offer{}, Decisions: []policy.Decision{}}
	if a.o.API == nil {
		return res, ErrNoAPI
	}
	st := a.snapshot()
	versions, err := Versions(ctx, a.cfg, st)
	if err != nil {
		return res, err
	}
	offers, err := a.o.API.Check(ctx, transport.Device{ID: a.cfg.Device.ID, Model: a.cfg.Device.Model, Versions: versions})
	if err != nil {
		return res, fmt.Errorf("check %s at %s: %w", a.cfg.Server.API, a.cfg.Server.BaseURL, err)
	}
	now := time.Now()
	for _, of := range offers {
		of.Version = strings.TrimSpace(of.Version)
		res.Offers = append(res.Offers, of)
		res.Decisions = append(res.Decisions, a.decide(st, versions, of, o, now))
	}
	return res, nil
}

// decide runs the policy for one offer with what state knows about it.
func (a *Agent) decide(st *state.State, versions map[string]string, of transport.Offer, o CheckOptions, now time.Time) policy.Decision {
	in := policy.Input{Offer: of, Now: now, Force: o.Force, Approved: o.Approve}
	cur, known := versions[of.Component]
	in.Known = known && a.cfg.Component(of.Component) != nil
	in.Current = cur
	if c := st.Components[of.Component]; c != nil {
		in.Failed = c.FailedList()
		if h := c.Held; h != nil && h.Offer.Version == of.Version {
			in.HeldSince = h.Since
			in.Approved = in.Approved || h.Approved
		}
	}
	return policy.Decide(a.cfg.Policy, in)
}

// record stores a check's decisions and held offers in state: a new hold
// starts its clock, an offer no longer held or offered is dropped. Then
// the API hears the decisions (decided).
func (a *Agent) record(res CheckResult) error {
	defer a.decided(res) // the decisions are final once update records them
	return a.mutate(func(st *state.State) {
		st.LastCheck = res.CheckedAt
		st.Decisions = st.Decisions[:0]
		held := map[string]bool{}
		for i, d := range res.Decisions {
			st.Decisions = append(st.Decisions, state.Decision{Component: d.Component, Version: d.Version, Action: string(d.Action), Reason: d.Reason})
			if d.Action != policy.Hold || a.cfg.Component(d.Component) == nil {
				continue
			}
			held[d.Component] = true
			c := st.Component(d.Component)
			if c.Held == nil || c.Held.Offer.Version != d.Version {
				c.Held = &state.Held{Offer: res.Offers[i], Since: res.CheckedAt}
			} else {
				c.Held.Offer = res.Offers[i] // URLs may have changed
			}
		}
		for name, c := range st.Components {
			if !held[name] {
				c.Held = nil
			}
		}
	})
}
