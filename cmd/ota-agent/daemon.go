package main

import (
	"context"
	"flag"
	"sync"
	"time"

	"ota-agent/agent"
	"ota-agent/platform/systemd"
)

// cmdRun is the daemon.
func cmdRun(ctx context.Context, e *env) error {
	if _, err := e.flags("run", flag.NewFlagSet("run", flag.ContinueOnError), 0); err != nil {
		return err
	}
	n := systemd.New(e.log)
	wd := n.WatchdogInterval()
	s, err := e.open(openMode{lock: true, api: true, targets: true, notify: n, heartbeat: n.Alive, beat: max(wd, time.Second)})
	if err != nil {
		return err
	}
	defer s.close()
	ln, err := agent.ListenLocal(s.cfg.Device.StateDir)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := agent.ServeLocal(ctx, ln, s.ag); err != nil {
			e.log.Error("local api stopped", "err", err)
		}
	})
	if wd > 0 {
		wg.Go(func() { watchdog(ctx, n, wd) })
	}
	n.Ready()
	n.Status("started; checking " + s.cfg.Server.API)
	e.log.Info("daemon started", "state", s.cfg.Device.StateDir, "api", s.cfg.Server.API)
	err = s.ag.Run(ctx)
	n.Stopping()
	cancel()
	wg.Wait()
	e.log.Info("daemon stopped")
	return err
}

// watchdog pings systemd every interval while the main loop shows life.
func watchdog(ctx context.Context, n *systemd.Notifier, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n.Watchdog(every)
		}
	}
}
