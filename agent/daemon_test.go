package agent_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"ota-agent/agent"
	"ota-agent/agent/config"
	"ota-agent/agent/state"
	"ota-agent/transport"
)

// scriptAPI answers checks from a script. httptest cannot run inside a
// synctest bubble (real sockets), so the loop timing tests use this.
type scriptAPI struct {
	mu     sync.Mutex
	start  time.Time
	calls  []time.Duration // when each check came, since start
	errs   []error         // popped per check; nil = success
	offers []transport.Offer
}

func (s *scriptAPI) Check(ctx context.Context, dev transport.Device) ([]transport.Offer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, time.Since(s.start))
	if len(s.errs) > 0 {
		err := s.errs[0]
		s.errs = s.errs[1:]
		if err != nil {
			return nil, err
		}
	}
	return s.offers, nil
}

func (s *scriptAPI) Report(ctx context.Context, r transport.Report) error { return nil }

func loopConfig(t *testing.T) *config.Config {
	return &config.Config{
		Device: config.Device{ID: "cam-1", Model: "M", StateDir: t.TempDir()},
		Server: config.Server{API: "akaso", BaseURL: "http://127.0.0.1:1", InsecureHTTP: true,
			PollInterval: config.Duration{Duration: time.Hour}, PollJitter: config.Duration{Duration: 10 * time.Minute}},
		Policy:     config.Policy{VersionScheme: "auto", DefaultUpgradeType: "silent", Prompt: "hold", MaxAttempts: 3},
		Components: []config.Component{{Name: "settings", Type: "file", Version: "1"}},
	}
}

func startLoop(t *testing.T, cfg *config.Config, api *scriptAPI) (*agent.Agent, *state.Store, func()) {
	store, err := state.Open(cfg.Device.StateDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ag, err := agent.New(agent.Options{Config: cfg, Store: store, API: api, Log: slog.New(slog.NewTextHandler(t.Output(), nil)),
		Jitter: func(n time.Duration) time.Duration { return n / 2 }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	api.start = time.Now()
	go func() { done <- ag.Run(ctx) }()
	return ag, store, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil after cancel", err)
		}
	}
}

func TestLoopBackoffAndPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		retry := &transport.Error{API: "akaso", Op: "check", Status: 503, Retryable: true}
		limited := &transport.Error{API: "akaso", Op: "check", Status: 429, Retryable: true, RetryAfter: 45 * time.Minute}
		final := &transport.Error{API: "akaso", Op: "check", Status: 404}
		api := &scriptAPI{errs: []error{retry, retry, limited, nil, retry, nil, final}}
		_, store, stop := startLoop(t, loopConfig(t), api)
		time.Sleep(6 * time.Hour)
		synctest.Wait()
		start := time.Now()
		stop()
		if d := time.Since(start); d != 0 {
			t.Errorf("stop took %v of fake time, want 0", d)
		}
		poll := time.Hour + 5*time.Minute // poll_interval + jitter(poll_jitter)/2
		want := []time.Duration{0}
		for _, w := range []time.Duration{
			15 * time.Second, // 503: backoff 30s, full jitter → 15s
			30 * time.Second, // 503 again: 60s → 30s
			45 * time.Minute, // 429 Retry-After 45m beats 120s → 60s
			poll,             // success: regular poll
			15 * time.Second, // 503 after success: backoff reset to 30s → 15s
			poll,             // success
			poll,             // 404: final, wait a regular poll
		} {
			want = append(want, want[len(want)-1]+w)
		}
		for want[len(want)-1]+poll <= 6*time.Hour { // then regular polls until the clock stops
			want = append(want, want[len(want)-1]+poll)
		}
		var got []time.Duration
		for _, c := range api.calls {
			if c <= 6*time.Hour {
				got = append(got, c)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("check times in the first 6h (-want +got):\n%s", diff)
		}
		st, _ := store.Read()
		if last := api.calls[len(api.calls)-1]; !st.NextCheck.Equal(api.start.Add(last + poll).UTC()) {
			t.Errorf("next_check = %v, want %v", st.NextCheck, api.start.Add(last+poll).UTC())
		}
	})
}

func TestLoopPromptTimeoutAndApprove(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := loopConfig(t)
		cfg.Policy.PromptTimeout = config.Duration{Duration: 10 * time.Minute}
		api := &scriptAPI{offers: []transport.Offer{{Component: "settings", Version: "2", UpgradeType: transport.Prompt, URL: "http://127.0.0.1:1/x"}}}
		ag, store, stop := startLoop(t, cfg, api)
		time.Sleep(time.Minute)
		synctest.Wait()
		st, _ := store.Read()
		if c := st.Components["settings"]; c == nil || c.Held == nil {
			t.Fatalf("after first check: %+v, want a held offer", st.Components)
		}
		// An approval wakes the loop at once.
		if _, err := ag.Approve(t.Context(), "settings"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		stop()
		if diff := cmp.Diff([]time.Duration{0, time.Minute}, api.calls); diff != "" {
			t.Errorf("check times (-want +got):\n%s", diff)
		}
	})
}

func TestLoopPromptTimeoutWakes(t *testing.T) {
	for _, typ := range []transport.UpgradeType{transport.Prompt, transport.Default} {
		t.Run("type="+string(typ), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := loopConfig(t)
				cfg.Policy.DefaultUpgradeType = "prompt"
				cfg.Policy.PromptTimeout = config.Duration{Duration: 10 * time.Minute}
				api := &scriptAPI{offers: []transport.Offer{{Component: "settings", Version: "2", UpgradeType: typ, URL: "http://127.0.0.1:1/x"}}}
				_, _, stop := startLoop(t, cfg, api)
				time.Sleep(11 * time.Minute)
				synctest.Wait()
				stop()
				if diff := cmp.Diff([]time.Duration{0, 10 * time.Minute}, api.calls); diff != "" {
					t.Errorf("check times (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestLoopWindowWakes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := loopConfig(t)
		now := time.Now()
		open := now.Add(2 * time.Hour).Truncate(time.Minute)
		midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
		start := open.Sub(midnight) % (24 * time.Hour)
		cfg.Policy.Window = config.Window{Start: start, End: start + time.Hour}
		cfg.Server.PollInterval = config.Duration{Duration: 6 * time.Hour}
		cfg.Server.PollJitter = config.Duration{}
		api := &scriptAPI{offers: []transport.Offer{{Component: "settings", Version: "2", URL: "http://127.0.0.1:1/x"}}}
		_, _, stop := startLoop(t, cfg, api)
		time.Sleep(3 * time.Hour)
		synctest.Wait()
		stop()
		if len(api.calls) != 2 || api.calls[1] != open.Add(time.Minute).Sub(now) {
			t.Errorf("check times %v; want a second check a minute after the window opens (%v)", api.calls, open.Add(time.Minute).Sub(now))
		}
	})
}

// flakyReports refuses reports until told otherwise.
type flakyReports struct {
	scriptAPI
	fail      bool
	delivered []transport.Report
}

func (f *flakyReports) Report(ctx context.Context, r transport.Report) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return &transport.Error{API: "mxchip", Op: "report", Status: 502, Retryable: true}
	}
	f.delivered = append(f.delivered, r)
	return nil
}

func TestReportsQueuedUntilDelivered(t *testing.T) {
	cfg := loopConfig(t)
	api := &flakyReports{fail: true}
	store, err := state.Open(cfg.Device.StateDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := &state.State{Reports: []transport.Report{
		{Component: "settings", Version: "2", Event: transport.EventInstall, OK: true},
		{Component: "settings", Version: "3", Event: transport.EventDownload, OK: false, Reason: "md5"},
	}}
	if err := store.Save(st); err != nil {
		t.Fatal(err)
	}
	ag, err := agent.New(agent.Options{Config: cfg, Store: store, API: api})
	if err != nil {
		t.Fatal(err)
	}
	if err := ag.FlushReports(t.Context()); err == nil {
		t.Fatal("FlushReports with a failing server returned nil")
	}
	if got, _ := store.Read(); len(got.Reports) != 2 {
		t.Fatalf("after a failed delivery %d reports queued, want 2", len(got.Reports))
	}
	api.fail = false
	if err := ag.FlushReports(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, _ := store.Read(); len(got.Reports) != 0 {
		t.Errorf("after delivery %d reports queued, want 0", len(got.Reports))
	}
	if diff := cmp.Diff(st.Reports, api.delivered); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
}
