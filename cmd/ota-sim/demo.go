package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	"ota-agent/agent/demo"
)

// cmdDemo runs the whole product on simulated hardware: `ota-agent demo
// [--keep] [--api akaso|mxchip|upgradelink|aliyun]`. It needs no
// configuration, no root and no network (127.0.0.1 only).
func cmdDemo(ctx context.Context, e *env) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	keep := fs.Bool("keep", false, "leave the work directory for inspection and print its path")
	api := fs.String("api", "aliyun", "which OTA API to demonstrate: "+strings.Join(demo.APIs, ", "))
	dir := fs.String("dir", "", "work directory (default: a new temporary one)")
	if _, err := e.flags("demo", fs, 0); err != nil {
		return err
	}
	if !slices.Contains(demo.APIs, *api) {
		return usagef("demo: --api %q: want one of %s", *api, strings.Join(demo.APIs, ", "))
	}
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("demo: find this binary to run it as the agent: %w", err)
	}
	fmt.Fprintf(e.stdout, "ota-agent demo: the real agent against a fake %s server and simulated hardware\n", *api)
	sum, err := demo.Run(ctx, demo.Options{API: *api, Binary: bin, Dir: *dir, Keep: *keep || *dir != "", Out: e.stdout, Log: e.log.With("component", "demo")})
	printSummary(e, sum)
	if *keep || *dir != "" {
		fmt.Fprintf(e.stdout, "work directory kept: %s\n", sum.Dir)
	}
	return err
}

func printSummary(e *env, s demo.Summary) {
	fmt.Fprintf(e.stdout, "\nsummary (%s API)\n", s.API)
	for _, st := range s.Steps {
		fmt.Fprintf(e.stdout, "  %6.1fs  %s\n", st.Took.Seconds(), st.Name)
	}
	fmt.Fprintf(e.stdout, "  %6.1fs  total; %d of 3 parts verified on the simulated hardware\n", s.Total.Seconds(), len(s.Verified))
}
