package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"ota-agent/agent"
	"ota-agent/agent/state"
)

func cmdStatus(ctx context.Context, e *env) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := e.flags("status", fs, 0); err != nil {
		return err
	}
	var st agent.Status
	found, err := e.viaDaemon(ctx, func(c *agent.LocalClient) error {
		var err error
		st, err = c.Status(ctx)
		st.Daemon = err == nil
		return err
	})
	if err != nil {
		return err
	}
	if !found {
		if st, err = e.statusFromFile(ctx); err != nil {
			return err
		}
	}
	if *asJSON {
		return writeJSON(e.stdout, st)
	}
	printStatus(e.stdout, st)
	return nil
}

// statusFromFile reads state.json directly (no daemon); a corrupt file is
// shown as a warning, not moved (only the lock holder does that).
func (e *env) statusFromFile(ctx context.Context) (agent.Status, error) {
	cfg, err := e.loadConfig()
	if err != nil {
		return agent.Status{}, err
	}
	store, err := state.Open(cfg.Device.StateDir, e.log)
	if err != nil {
		return agent.Status{}, err
	}
	st, err := store.Read()
	var ce *state.CorruptError
	if errors.As(err, &ce) {
		st, err = &state.State{Warning: ce.Error()}, nil
	}
	if err != nil {
		return agent.Status{}, err
	}
	return agent.BuildStatus(ctx, cfg, st), nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printStatus(w io.Writer, st agent.Status) {
	if st.Warning != "" {
		fmt.Fprintln(w, "WARNING: "+oneLine(st.Warning))
	}
	fmt.Fprintln(w, trustLine(st.Trust))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT\tTYPE\tVERSION\tPHASE\tTARGET\tPROGRESS\tHELD\tFAILED\tROLLBACK")
	for _, c := range st.Components {
		held := "-"
		if c.Held {
			held = esc(c.HeldVersion)
			if c.Approved {
				held += " (approved)"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", esc(c.Name), esc(string(c.Type)), dash(c.Version), esc(string(c.Phase)), dash(c.TargetVersion),
			progress(c.Progress), held, dash(strings.Join(c.FailedVersions, ",")), map[bool]string{true: "yes", false: "no"}[c.Rollback])
	}
	tw.Flush()
	for _, c := range st.Components {
		if c.Proof != "" {
			fmt.Fprintf(w, "%s: proved by %s\n", esc(c.Name), esc(c.Proof))
		}
		if c.LastError != "" {
			fmt.Fprintf(w, "%s: last error: %s\n", esc(c.Name), esc(c.LastError))
		}
	}
	for _, d := range st.Decisions {
		fmt.Fprintf(w, "decision: %s %s: %s (%s)\n", esc(d.Component), esc(d.Version), esc(d.Action), esc(d.Reason))
	}
	fmt.Fprintf(w, "last check: %s\nnext check: %s\n", when(st.LastCheck), when(st.NextCheck))
	if st.Pending > 0 {
		fmt.Fprintf(w, "reports waiting for delivery: %d\n", st.Pending)
	}
}

// trustLine says what an install needs before it is armed or flashed.
func trustLine(t agent.TrustStatus) string {
	switch {
	case t.RequireSignature:
		return "trust: minisign signature required, keys " + strings.Join(t.KeyIDs, ", ")
	case t.Warning() != "":
		return t.Warning()
	case len(t.KeyIDs) > 0:
		return "trust: signatures checked when present (keys " + strings.Join(t.KeyIDs, ", ") + "), else a digest"
	}
	return "trust: a digest (offer md5/sha256 or manifest sha256) is required"
}

// dash returns s escaped (printable), or "-" when empty.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return esc(s)
}

func progress(p state.Progress) string {
	if p.Total <= 0 {
		if p.Done == 0 {
			return "-"
		}
		return fmt.Sprintf("%d B", p.Done)
	}
	return fmt.Sprintf("%d%%", p.Done*100/p.Total)
}

func when(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.Local().Format(time.RFC3339)
}
