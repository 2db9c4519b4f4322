package agent

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"ota-agent/agent/state"
	"ota-agent/transport"
	"ota-agent/transport/download"
)

// queue appends r to the persisted report queue; FlushReports sends it.
func (a *Agent) queue(r transport.Report) {
	if r.Versions == nil {
		vs, _ := Versions(context.Background(), a.cfg, a.snapshot())
		r.Versions = vs
	}
	if err := a.mutate(func(st *state.State) { st.Reports = append(st.Reports, r) }); err != nil {
		a.log.Error("report not queued", "device", r.Component, "version", r.Version, "err", err)
	}
}

// FlushReports sends queued reports in order and removes each once the API
// accepted it. It stops at the first retryable failure (the rest wait for
// the next loop); a report the API refuses for good is dropped, logged.
func (a *Agent) FlushReports(ctx context.Context) error {
	if a.o.API == nil {
		return nil
	}
	for {
		st := a.snapshot()
		if len(st.Reports) == 0 {
			return nil
		}
		r := st.Reports[0]
		err := a.o.API.Report(ctx, r)
		if err != nil && transport.Retryable(err) {
			a.log.Warn("report not delivered; kept for the next loop", "device", r.Component, "version", r.Version, "err", err)
			return err
		}
		if err != nil {
			a.log.Error("report refused by the server; dropped", "device", r.Component, "version", r.Version, "err", err)
		}
		if err := a.mutate(func(st *state.State) {
			if len(st.Reports) > 0 {
				st.Reports = st.Reports[1:]
			}
		}); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// stagePayload writes an offer's inline content (UpgradeLink configuration)
// to the download directory after checking its MD5 when one was given.
func (a *Agent) stagePayload(name string, of transport.Offer) (string, error) {
	if of.MD5 != "" {
		sum := md5.Sum(of.Payload)
		if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, of.MD5) {
			return "", fmt.Errorf("inline content of %s %s: md5 %s, want %s", name, of.Version, got, of.MD5)
		}
	}
	if err := os.MkdirAll(a.downloadDir(), 0o700); err != nil {
		return "", fmt.Errorf("staging directory: %w", err)
	}
	p := download.StagePath(a.downloadDir(), name) // removed with the rest of the version
	if err := state.WriteFileAtomic(p, of.Payload, 0o600); err != nil {
		return "", err
	}
	return p, nil
}
