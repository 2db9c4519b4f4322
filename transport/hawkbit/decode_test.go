package hawkbit_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"ota-agent/transport"
	"ota-agent/transport/hawkbit"
	"ota-agent/transport/hawkbit/hawkbittest"
)

func TestParseSleep(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"00:05:00", 5 * time.Minute, true},
		{"23:59:59", 24*time.Hour - time.Second, true},
		{"00:00:30", 30 * time.Second, true},
		{"PT24H", 24 * time.Hour, true},
		{"P1DT2H", 26 * time.Hour, true},
		{"PT0.5S", 0, true},
		{"00:60:00", 0, false},
		{"5m", 0, false},
		{"P", 0, false},
		{"", 0, false},
		{"-1:00:00", 0, false},
	} {
		got, err := hawkbit.ParseSleep(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSleep(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestHostileAnswers feeds bad bodies on each resource; each must give a
// clear final error, never a panic or an offer.
func TestHostileAnswers(t *testing.T) {
	big := `{"config":{"polling":{"sleep":"` + strings.Repeat("x", 2<<20) + `"}}}`
	for _, tt := range []struct{ name, path, body, want string }{
		{"huge poll", "", big, "larger than"},
		{"poll array", "", `[]`, "want a JSON object"},
		{"poll html", "", `<html>`, "an HTML page"},
		{"sleep a number", "", `{"config":{"polling":{"sleep":300}}}`, `"config.polling.sleep" is a JSON number`},
		{"href a number", "", `{"_links":{"deploymentBase":{"href":5}}}`, "is a JSON number"},
		{"bad mode", "/deploymentBase/1", `{"id":"1","deployment":{"download":"FORCED","update":"forced","chunks":[]}}`, `download "FORCED"`},
		{"id mismatch", "/deploymentBase/1", `{"id":"2","deployment":{"download":"forced","update":"forced","chunks":[]}}`, "differs from the link"},
		{"id a number", "/deploymentBase/1", `{"id":1,"deployment":{}}`, "is a JSON number"},
		{"negative size", "/deploymentBase/1", `{"id":"1","deployment":{"download":"forced","update":"forced","chunks":[{"name":"a","artifacts":[{"filename":"f","size":-1}]}]}}`, "negative"},
		{"bad md5", "/deploymentBase/1", `{"id":"1","deployment":{"download":"forced","update":"forced","chunks":[{"name":"a","artifacts":[{"filename":"f","hashes":{"md5":"zz"}}]}]}}`, "32 hex"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := newPair(t)
			if tt.path != "" {
				srv.SetRaw("", []byte(`{"_links":{"deploymentBase":{"href":"`+srv.Base()+tt.path+`?c=1"}}}`))
			}
			srv.SetRaw(tt.path, []byte(tt.body))
			offers, err := c.Check(context.Background(), dev)
			if err == nil || transport.Retryable(err) || !strings.Contains(err.Error(), tt.want) || len(offers) != 0 {
				t.Errorf("Check = %v, %v; want a final error containing %q", offers, err, tt.want)
			}
			if len(err.Error()) > 600 || strings.ContainsAny(err.Error(), "\n") {
				t.Errorf("error not one short line: %d bytes", len(err.Error()))
			}
		})
	}
}

func TestHostileCancelStopID(t *testing.T) {
	srv, c := newPair(t)
	srv.SetRaw("", []byte(`{"_links":{"cancelAction":{"href":"`+srv.Base()+`/cancelAction/1"}}}`))
	srv.SetRaw("/cancelAction/1", []byte(`{"id":"1","cancelAction":{"stopId":"../../x"}}`))
	_, err := c.Check(context.Background(), dev)
	if err == nil || !strings.Contains(err.Error(), "not an action id") {
		t.Fatalf("Check = %v", err)
	}
	if len(srv.Feedback()) != 0 {
		t.Errorf("feedback sent for a bad stopId")
	}
}

func TestSleepClamped(t *testing.T) {
	for _, tt := range []struct {
		sleep string
		want  time.Duration
	}{{"00:00:00", hawkbit.MinSleep}, {"P9999D", hawkbit.MaxSleep}, {"garbage", hawkbit.DefaultSleep}, {"", hawkbit.DefaultSleep}} {
		srv, c := newPair(t)
		srv.SetSleep(tt.sleep)
		if _, err := c.Check(context.Background(), dev); err != nil {
			t.Fatal(err)
		}
		if d, _ := c.NextPoll(); d != tt.want {
			t.Errorf("sleep %q: NextPoll = %v, want %v", tt.sleep, d, tt.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"config":{"polling":{"sleep":"00:05:00"}},"_links":{"deploymentBase":{"href":"http://h/DEFAULT/controller/v1/d/deploymentBase/5?c=1"}}}`,
		`{"id":"42","deployment":{"download":"forced","update":"forced","chunks":[{"part":"os","version":"1.2.0","name":"rootfs","artifacts":[{"filename":"rootfs.img","hashes":{"sha1":"ad81f29dcb0325f179ef9df66d5c5780aa61c68c","md5":"06f008bc0aa9827d6473fb3eca40caec"},"size":19}]}]}}`,
		`{"id":"43","cancelAction":{"stopId":"43"}}`,
		`{"id":"8","deployment":{"download":"forced","update":"skip","maintenanceWindow":"unavailable","chunks":[]}}`,
		`[]`, ``, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, err := hawkbit.DecodeDeployment(b); err == nil {
			if len(d.Deployment.Chunks) > 64 || d.ID == "" {
				t.Fatalf("accepted %d chunks, id %q", len(d.Deployment.Chunks), d.ID)
			}
			for _, ch := range d.Deployment.Chunks {
				for _, a := range ch.Artifacts {
					if a.Size < 0 || a.Filename == "" {
						t.Fatalf("accepted artifact %+v", a)
					}
				}
			}
		}
		if c, err := hawkbit.DecodeCancel(b); err == nil && (c.CancelAction.StopID == "" || strings.ContainsAny(c.CancelAction.StopID, "/.")) {
			t.Fatalf("accepted stopId %q", c.CancelAction.StopID)
		}
		_, _ = hawkbit.DecodeBase(b)
		_, _ = hawkbit.ParseSleep(string(b))
	})
}

var _ = hawkbittest.Soft
