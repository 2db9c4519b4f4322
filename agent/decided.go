package agent

import (
	"context"
	"time"

	"ota-agent/agent/config"
	"ota-agent/transport"
	"ota-agent/transport/hawkbit"
)

// Decider is implemented by APIs that tell their server what the policy
// decided about an offer. hawkBit needs it: an action whose chunk the
// policy skips (a downgrade, a version that failed before) never completes,
// so the client closes it with failure and the reason instead of leaving it
// open forever. action is a policy.Action ("install", "hold", "skip").
type Decider interface {
	Decided(ctx context.Context, o transport.Offer, action, reason string) error
}

var _ Decider = (*hawkbit.Client)(nil)

// decided hands every decision of a recorded check to the API when it is a
// Decider. A failure is logged: the next update checks and decides again.
// It runs only from update (record), never from check, which changes
// nothing.
func (a *Agent) decided(res CheckResult) {
	d, ok := a.o.API.(Decider)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), decidedTimeout(a.cfg))
	defer cancel()
	for i, dec := range res.Decisions {
		if err := d.Decided(ctx, res.Offers[i], string(dec.Action), dec.Reason); err != nil {
			a.log.Warn("decision not delivered to the server; sent again after the next check", "device", dec.Component, "version", dec.Version, "action", dec.Action, "err", err)
		}
	}
}

// decidedTimeout bounds the decision feedback: server.timeout, else the default.
func decidedTimeout(cfg *config.Config) time.Duration {
	if t := cfg.Server.Timeout.Duration; t > 0 {
		return t
	}
	return config.DefaultTimeout
}
