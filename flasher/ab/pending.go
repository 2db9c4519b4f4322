package ab

import (
	"context"
	"fmt"

	"ota-agent/flasher"
)

// Pending is what the boot environment holds that is not committed, read
// from the environment alone (the agent's state file may be lost).
type Pending = flasher.Pending

// The values of Pending.
const (
	PendingNone  = flasher.PendingNone
	PendingArmed = flasher.PendingArmed
	PendingTrial = flasher.PendingTrial
)

// Pending reads the environment: the inactive slot armed to boot next
// (PendingArmed), the booted slot on trial, not yet committed
// (PendingTrial), or nothing (PendingNone).
func (t *Target) Pending(ctx context.Context) (Pending, error) {
	booted, err := t.Booted(ctx)
	if err != nil {
		return PendingNone, fmt.Errorf("pending: %w", err)
	}
	vars, err := t.env.read(ctx)
	if err != nil {
		return PendingNone, fmt.Errorf("pending: read %s: %w", t.env, err)
	}
	return t.scheme.pending(vars, booted), nil
}
