package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ota-agent/agent/config"
)

func TestWindow(t *testing.T) {
	day := func(h, m int) time.Time { return time.Date(2024, 3, 1, h, m, 0, 0, time.Local) }
	for _, tt := range []struct {
		window string
		at     time.Time
		want   bool
	}{
		{"", day(12, 0), true},
		{"02:00-05:00", day(2, 0), true},
		{"02:00-05:00", day(4, 59), true},
		{"02:00-05:00", day(5, 0), false},
		{"02:00-05:00", day(1, 59), false},
		{"22:00-04:00", day(23, 0), true},
		{"22:00-04:00", day(0, 30), true},
		{"22:00-04:00", day(4, 0), false},
		{"22:00-04:00", day(12, 0), false},
		{"00:00-24:00", day(23, 59), true},
		{"9:30-17:00", day(9, 30), true},
	} {
		w, err := config.ParseWindow(tt.window)
		if err != nil {
			t.Fatalf("ParseWindow(%q): %v", tt.window, err)
		}
		if got := w.Contains(tt.at); got != tt.want {
			t.Errorf("ParseWindow(%q).Contains(%s) = %v, want %v", tt.window, tt.at.Format("15:04"), got, tt.want)
		}
	}
	for _, bad := range []string{"02:00", "2-5", "25:00-03:00", "02:60-03:00", "02:00-02:00", "24:30-01:00", "a:bc-01:00", "02:00-05:00-06:00"} {
		if _, err := config.ParseWindow(bad); err == nil {
			t.Errorf("ParseWindow(%q) succeeded, want an error", bad)
		}
	}
}

// TestHexAndDurationForms checks that address and offset take a TOML
// integer or a string, and durations take Go duration strings.
func TestHexAndDurationForms(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testdata, "minimal.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		address string
		want    config.Hex
	}{
		{`0x08000000`, 0x08000000},
		{`"0x08004000"`, 0x08004000},
		{`134217728`, 0x08000000},
		{`"134217728"`, 0x08000000},
		{`0x0800_0000`, 0x08000000},
	} {
		s := strings.Replace(string(data), "address = 0x08000000", "address = "+tt.address, 1)
		s = strings.Replace(s, `poll_interval = "6h"`, `poll_interval = "1h30m"`, 1)
		path := filepath.Join(t.TempDir(), "agent.toml")
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := config.Load(path)
		if err != nil {
			t.Fatalf("address = %s: %v", tt.address, err)
		}
		if got := c.Component("mcu").Address; got != tt.want {
			t.Errorf("address = %s: got %v, want %v", tt.address, got, tt.want)
		}
		if got := c.Server.PollInterval.Duration; got != 90*time.Minute {
			t.Errorf("poll_interval = %v, want 1h30m", got)
		}
		if c.Component("nothing") != nil {
			t.Errorf("Component(nothing) != nil")
		}
		if m := c.Component("settings").FileMode(); m != 0o644 {
			t.Errorf("FileMode = %v, want 0644", m)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.toml")
	_, err := config.Load(path)
	want := path + ": cannot read the configuration: open " + path + ": no such file or directory (check the path given with -c)"
	if err == nil || err.Error() != want {
		t.Errorf("Load(missing) = %v, want %s", err, want)
	}
}

// FuzzLoad feeds arbitrary bytes to Load: it must never panic, and every
// error must be one line.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"agent.toml", "minimal.toml"} {
		data, err := os.ReadFile(filepath.Join(testdata, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	bad, _ := filepath.Glob(filepath.Join(testdata, "bad", "*.toml"))
	for _, b := range bad {
		if data, err := os.ReadFile(b); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("[[component]]\n[component.ab]\nslots = {A = \"/a\", B = \"/b\"}\nhealth = [[\"x\"],\n [\"y\"]]\nx = '''\n]\n'''\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "agent.toml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := config.Load(path)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		var sb strings.Builder
		if err := c.WriteResolved(&sb); err != nil {
			t.Fatalf("WriteResolved: %v", err)
		}
	})
}
