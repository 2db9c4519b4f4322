package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"ota-agent/cmd/internal/demo"
)

// cmdDemo runs the whole product on simulated hardware: `ota-sim demo
// [--keep] [--dir DIR] [--api akaso|mxchip|upgradelink|aliyun] [--agent
// PATH]`. It needs no configuration, no root and no network (127.0.0.1
// only); the agent is the real ota-agent binary, run as a subprocess.
func cmdDemo(ctx context.Context, e *env) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	keep := fs.Bool("keep", false, "leave the work directory for inspection and print its path")
	api := fs.String("api", "aliyun", "which OTA API to demonstrate: "+strings.Join(demo.APIs, ", "))
	dir := fs.String("dir", "", "work directory (default: a new temporary one)")
	agentPath := fs.String("agent", "", "the ota-agent binary to run (default: next to ota-sim, else on $PATH)")
	if _, err := e.flags("demo", fs, 0); err != nil {
		return err
	}
	if !slices.Contains(demo.APIs, *api) {
		return usagef("demo: --api %q: want one of %s", *api, strings.Join(demo.APIs, ", "))
	}
	self, _ := os.Executable()
	bin, err := findAgent(*agentPath, self, exec.LookPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "ota-sim demo: the real agent (%s) against a fake %s server and simulated hardware\n", bin, *api)
	sum, err := demo.Run(ctx, demo.Options{API: *api, Binary: bin, Dir: *dir, Keep: *keep || *dir != "", Out: e.stdout, Log: e.log.With("component", "demo")})
	printSummary(e, sum)
	if *keep || *dir != "" {
		fmt.Fprintf(e.stdout, "work directory kept: %s\n", sum.Dir)
	}
	return err
}

// findAgent picks the ota-agent binary the demo runs: flagPath when given
// (it must be an executable file), else the ota-agent next to self (where
// `make build` puts both), else the first on $PATH (lookPath).
func findAgent(flagPath, self string, lookPath func(string) (string, error)) (string, error) {
	if flagPath != "" {
		if err := isExecutable(flagPath); err != nil {
			return "", usagef("demo: --agent %s: %v", flagPath, err)
		}
		return flagPath, nil
	}
	var tried []string
	if self != "" {
		next := filepath.Join(filepath.Dir(self), "ota-agent")
		if isExecutable(next) == nil {
			return next, nil
		}
		tried = append(tried, next)
	}
	if p, err := lookPath("ota-agent"); err == nil {
		return p, nil
	}
	tried = append(tried, "$PATH")
	return "", fmt.Errorf("demo: no ota-agent binary (tried %s); run `make build` (it puts both in bin/) or pass --agent PATH", strings.Join(tried, ", "))
}

// isExecutable says why path is not a regular file with an execute bit, or
// returns nil.
func isExecutable(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return err
	case !fi.Mode().IsRegular():
		return errors.New("not a regular file")
	case fi.Mode().Perm()&0o111 == 0:
		return errors.New("not executable (chmod +x?)")
	}
	return nil
}

// printSummary prints the steps of a demo run with their times.
func printSummary(e *env, s demo.Summary) {
	fmt.Fprintf(e.stdout, "\nsummary (%s API)\n", s.API)
	for _, st := range s.Steps {
		fmt.Fprintf(e.stdout, "  %6.1fs  %s\n", st.Took.Seconds(), st.Name)
	}
	fmt.Fprintf(e.stdout, "  %6.1fs  total; %d of 3 parts verified on the simulated hardware\n", s.Total.Seconds(), len(s.Verified))
}
