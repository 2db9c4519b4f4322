package main

import (
	"context"
	"flag"
	"fmt"
	"ota-agent/agent"
	"runtime"
)

func cmdVersion(_ context.Context, e *env) error {
	if _, err := e.flags("version", flag.NewFlagSet("version", flag.ContinueOnError), 0); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "ota-agent %s\ncommit %s\nbuilt %s\n%s %s/%s\n", version, commit, date, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

func cmdConfig(_ context.Context, e *env) error {
	if len(e.args) != 1 || e.args[0] != "check" {
		return usagef("config: want `ota-agent config check`")
	}
	cfg, err := e.loadConfig()
	if err != nil {
		return err
	}
	if err := cfg.WriteResolved(e.stdout); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "# "+trustLine(agent.Trust(cfg)))
	return nil
}
