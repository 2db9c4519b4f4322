package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"slices"
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
	if err := e.daemonLog(); err != nil {
		return err
	}
	n := systemd.New(e.log)
	wd := n.WatchdogInterval()
	s, err := e.open(openMode{lock: true, api: true, targets: true, notify: n, heartbeat: n.Alive, beat: max(wd, time.Second)})
	if err != nil {
		n.Status("stopped: " + oneLine(err.Error()))
		return err
	}
	defer s.close()
	ln, err := agent.ListenLocal(s.cfg.Device.StateDir)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	log := e.log.With("component", "daemon")
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := agent.ServeLocal(ctx, ln, s.ag); err != nil {
			log.Error("local api stopped", "err", err)
		}
	})
	if wd > 0 {
		wg.Go(func() { watchdog(ctx, n, wd) })
	}
	n.Ready()
	n.Status("started " + version)
	log.Info("daemon started", "state", s.cfg.Device.StateDir, "api", s.cfg.Server.API, "watchdog", wd)
	err = s.ag.Run(ctx)
	n.Status("stopping")
	n.Stopping()
	cancel()
	wg.Wait()
	log.Info("daemon stopped")
	return err
}

// underJournal reports whether stderr is the journal: systemd sets
// JOURNAL_STREAM to the device and inode of the stream it connected.
func underJournal() bool { return os.Getenv("JOURNAL_STREAM") != "" }

// daemonLog gives the daemon's logger the version on every line, and under
// systemd drops the time (the journal stamps each line) and names a
// component on lines that have none, so each journal line reads
// `level=INFO msg=... component=agent version=v1.2.0 ...`.
func (e *env) daemonLog() error {
	if !underJournal() {
		e.log = e.log.With("version", version)
		return nil
	}
	l, err := journalLogger(e.stderr, e.logFormat, e.logLevel)
	if err != nil {
		return err
	}
	e.log = l
	return nil
}

// journalLogger is newLogger for the journal: one line per record (the
// text and JSON handlers quote newlines), no time, and version and
// component on every line.
func journalLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	base, err := newLogger(w, format, level)
	if err != nil {
		return nil, err
	}
	h := &componentHandler{Handler: dropTime{base.Handler()}}
	return slog.New(h).With("version", version), nil
}

// componentHandler adds component=ota-agent to records whose logger named no
// component.
type componentHandler struct {
	slog.Handler
	named bool
}

// WithAttrs implements slog.Handler.
func (h *componentHandler) WithAttrs(as []slog.Attr) slog.Handler {
	named := h.named || slices.ContainsFunc(as, func(a slog.Attr) bool { return a.Key == "component" })
	return &componentHandler{Handler: h.Handler.WithAttrs(as), named: named}
}

// WithGroup implements slog.Handler.
func (h *componentHandler) WithGroup(name string) slog.Handler {
	return &componentHandler{Handler: h.Handler.WithGroup(name), named: h.named}
}

// Handle implements slog.Handler.
func (h *componentHandler) Handle(ctx context.Context, r slog.Record) error {
	if !h.named {
		r = r.Clone()
		r.AddAttrs(slog.String("component", "ota-agent"))
	}
	return h.Handler.Handle(ctx, r)
}

// dropTime leaves the time out of each record: the journal has its own.
type dropTime struct{ slog.Handler }

// Handle implements slog.Handler.
func (d dropTime) Handle(ctx context.Context, r slog.Record) error {
	r.Time = time.Time{} // the built-in handlers omit a zero time
	return d.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (d dropTime) WithAttrs(as []slog.Attr) slog.Handler { return dropTime{d.Handler.WithAttrs(as)} }

// WithGroup implements slog.Handler.
func (d dropTime) WithGroup(name string) slog.Handler { return dropTime{d.Handler.WithGroup(name)} }

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
