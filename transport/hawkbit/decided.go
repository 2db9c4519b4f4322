package hawkbit

import (
	"context"
	"fmt"

	"ota-agent/transport"
)

// Decided is told what the device's policy decided about an offer, once
// update has recorded it. A skip of a chunk that still needs installing
// means the action can never complete on this device, so it is closed
// with failure and the reason (reference §6: "rejected" is for "not now",
// closed/failure for "never"); left open, hawkBit would wait for it
// forever. Offers this client refused itself (maintenance window, download
// only) wait and are ignored, as are chunks already at their version and
// every decision but "skip". The closing step is sent once. The chunks of
// a download-only action are fetched and verified here, so that check
// downloads nothing.
func (c *Client) Decided(ctx context.Context, o transport.Offer, action, reason string) error {
	act := c.actionOf(o.Extra)
	if action != "skip" || act == nil || act.Closed {
		return nil
	}
	if o.Extra["mode"] == modeDownloadOnly {
		return c.downloadOnly(ctx, act, o)
	}
	if o.Refused != "" {
		return nil
	}
	c.mu.Lock()
	_, pending := act.Pending[o.Component]
	c.mu.Unlock()
	if !pending {
		return nil
	}
	return c.post(ctx, act, "closed", act.Feedback,
		feedback("closed", "failure", fmt.Sprintf("%s %s refused by the device's policy: %s", o.Component, o.Version, reason), nil))
}
