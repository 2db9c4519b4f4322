package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// scenarioWatchdog: the agent is frozen with SIGSTOP over the serial
// console; systemd's watchdog (WatchdogSec=20 in the board's drop-in) sends
// it SIGABRT (and SIGCONT) and Restart=on-failure brings it back with a new
// PID that sends READY=1 again.
func scenarioWatchdog(ctx context.Context, r *rig) error {
	if err := r.firstBoot(ctx); err != nil {
		return err
	}
	pid, n0, err := r.mainPID(ctx)
	if err != nil {
		return err
	}
	if _, rc, err := r.vm.sh(ctx, fmt.Sprintf("kill -STOP %d && grep State /proc/%d/status", pid, pid), 30*time.Second); err != nil || rc != 0 {
		return fmt.Errorf("SIGSTOP to the agent (pid %d): exit %d: %v", pid, rc, err)
	}
	t0 := time.Now()
	for time.Since(t0) < 3*time.Minute {
		r.vm.pause(ctx, 3*time.Second)
		p, n, err := r.mainPID(ctx)
		if err != nil {
			return err
		}
		if p != 0 && p != pid && n > n0 {
			fmt.Printf("board: watchdog: agent pid %d frozen, systemd restarted it as pid %d (NRestarts %d) after %s\n", pid, p, n, time.Since(t0).Round(time.Second))
			return r.checkService(ctx)
		}
	}
	out, _, _ := r.vm.sh(ctx, "journalctl -u ota-agent --no-pager -n 20", 30*time.Second)
	return fmt.Errorf("watchdog: frozen agent (pid %d) not restarted within 3m; journal:\n%s", pid, out)
}

// mainPID reads the agent's MainPID and NRestarts with systemctl show.
func (r *rig) mainPID(ctx context.Context) (pid, restarts int, err error) {
	out, _, err := r.vm.sh(ctx, "systemctl show -p MainPID -p NRestarts ota-agent", 30*time.Second)
	if err != nil {
		return 0, 0, err
	}
	for _, l := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(l), "=")
		switch {
		case strings.HasSuffix(k, "MainPID"):
			pid, _ = strconv.Atoi(v)
		case strings.HasSuffix(k, "NRestarts"):
			restarts, _ = strconv.Atoi(v)
		}
	}
	if pid == 0 && restarts == 0 && !strings.Contains(out, "MainPID=") {
		return 0, 0, fmt.Errorf("systemctl show ota-agent: no MainPID in %q", out)
	}
	return pid, restarts, nil
}
