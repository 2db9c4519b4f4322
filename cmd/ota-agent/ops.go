package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"ota-agent/agent"
	"ota-agent/agent/config"
	"ota-agent/agent/policy"
	"ota-agent/agent/state"
)

func cmdCheck(ctx context.Context, e *env) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := e.flags("check", fs, 0); err != nil {
		return err
	}
	s, err := e.open(openMode{api: true})
	if err != nil {
		return err
	}
	defer s.close()
	res, err := s.ag.Check(ctx, agent.CheckOptions{})
	if err != nil {
		return err
	}
	trust := agent.Trust(s.cfg)
	if *asJSON {
		return writeJSON(e.stdout, struct {
			agent.CheckResult
			Trust agent.TrustStatus `json:"trust"`
		}{res, trust})
	}
	if w := trust.Warning(); w != "" {
		fmt.Fprintln(e.stdout, w)
	}
	printCheck(e.stdout, res)
	return nil
}

func printCheck(w io.Writer, res agent.CheckResult) {
	if len(res.Offers) == 0 {
		fmt.Fprintf(w, "%s: no offers; up to date\n", esc(res.API))
		return
	}
	for i, o := range res.Offers {
		d := res.Decisions[i]
		fmt.Fprintf(w, "%s %s (%s, %d bytes%s): %s: %s\n", esc(d.Component), esc(d.Version), esc(typeOf(o.UpgradeType)), o.Size, estimate(o.SizeIsEstimate), d.Action, esc(d.Reason))
	}
}

func typeOf[T ~string](t T) string {
	if t == "" {
		return "default"
	}
	return string(t)
}

func estimate(b bool) string {
	if b {
		return " estimated"
	}
	return ""
}

func cmdUpdate(ctx context.Context, e *env) error {
	fs := flag.NewFlagSet("update", flag.ContinueOnError)
	var o agent.UpdateOptions
	fs.BoolVar(&o.Approve, "yes", false, "approve held prompt offers")
	fs.BoolVar(&o.Force, "force", false, "install versions on the failed list")
	fs.StringVar(&o.Component, "component", "", "only this component")
	if _, err := e.flags("update", fs, 0); err != nil {
		return err
	}
	bars := newBars(e)
	s, err := e.open(openMode{lock: true, api: true, targets: true, progress: bars.progressFunc()})
	if err != nil {
		return err
	}
	defer s.close()
	res, outs, err := s.ag.Update(ctx, o)
	bars.finish()
	for _, d := range res.Decisions {
		if d.Action != policy.Install {
			fmt.Fprintf(e.stdout, "%s %s: %s: %s\n", esc(d.Component), esc(d.Version), esc(string(d.Action)), esc(d.Reason))
		}
	}
	printOutcomes(e.stdout, s.cfg, outs)
	if err == nil && len(outs) == 0 {
		fmt.Fprintln(e.stdout, "nothing to install")
	}
	return err
}

func printOutcomes(w io.Writer, cfg *config.Config, outs []agent.Outcome) {
	for _, o := range outs {
		switch {
		case o.Err != nil:
			fmt.Fprintf(w, "%s %s: failed: %s\n", esc(o.Component), esc(o.Version), oneLine(o.Err.Error()))
		case o.Phase == state.Rebooting && rebootsByHand(cfg, o.Component):
			fmt.Fprintf(w, "%s %s: written and armed; reboot the device to boot it (ab.reboot is empty; commit follows at start)\n", esc(o.Component), esc(o.Version))
		case o.Phase == state.Rebooting:
			fmt.Fprintf(w, "%s %s: written and armed; rebooting into it (commit follows at start)\n", esc(o.Component), esc(o.Version))
		default:
			fmt.Fprintf(w, "%s %s: installed\n", esc(o.Component), esc(o.Version))
		}
	}
}

// rebootsByHand reports whether the A/B component name has no ab.reboot
// command, so the operator reboots.
func rebootsByHand(cfg *config.Config, name string) bool {
	c := cfg.Component(name)
	return c != nil && c.AB != nil && len(c.AB.Reboot) == 0
}

func cmdApprove(ctx context.Context, e *env) error {
	fs := flag.NewFlagSet("approve", flag.ContinueOnError)
	all := fs.Bool("all", false, "approve every held offer")
	args, err := e.flags("approve", fs, 1)
	if err != nil {
		return err
	}
	comp := ""
	switch {
	case *all && len(args) == 0:
	case !*all && len(args) == 1:
		comp = args[0]
	default:
		return usagef("approve: give one COMPONENT or --all")
	}
	var names []string
	found, err := e.viaDaemon(ctx, func(c *agent.LocalClient) error {
		names, err = c.Approve(ctx, comp)
		return err
	})
	if !found && err == nil {
		err = e.direct(ctx, openMode{lock: true}, func(s *session) error {
			names, err = s.ag.Approve(ctx, comp)
			return err
		})
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "approved: %s\n", esc(strings.Join(names, ", ")))
	return nil
}

func cmdCommit(ctx context.Context, e *env) error {
	return e.abOp(ctx, "commit", (*agent.LocalClient).Commit, (*agent.Agent).Commit)
}

func cmdRollback(ctx context.Context, e *env) error {
	return e.abOp(ctx, "rollback", (*agent.LocalClient).Rollback, (*agent.Agent).Rollback)
}

// abOp runs commit or rollback through the daemon, or directly.
func (e *env) abOp(ctx context.Context, name string, remote func(*agent.LocalClient, context.Context) (string, error), local func(*agent.Agent, context.Context) (string, error)) error {
	if _, err := e.flags(name, flag.NewFlagSet(name, flag.ContinueOnError), 0); err != nil {
		return err
	}
	var msg string
	found, err := e.viaDaemon(ctx, func(c *agent.LocalClient) error {
		var err error
		msg, err = remote(c, ctx)
		return err
	})
	if !found && err == nil {
		err = e.direct(ctx, openMode{lock: true, targets: true, api: true}, func(s *session) error {
			msg, err = local(s.ag, ctx)
			s.ag.FlushReports(ctx)
			return err
		})
	}
	if msg != "" {
		fmt.Fprintln(e.stdout, oneLine(msg))
	}
	if errors.Is(err, agent.ErrRolledBack) {
		return fmt.Errorf("%s: %w", name, err)
	}
	return err
}

// direct opens the agent itself (no daemon runs) and calls f.
func (e *env) direct(ctx context.Context, m openMode, f func(s *session) error) error {
	s, err := e.open(m)
	if err != nil {
		return err
	}
	defer s.close()
	return f(s)
}
