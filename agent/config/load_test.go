package config_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ota-agent/agent/config"
)

var update = flag.Bool("update", false, "rewrite the # want: lines of testdata/config/bad")

const testdata = "../../testdata/config"

// TestBadFiles loads every file in testdata/config/bad; its first line says
// the one-line error Load must return (after the file name).
func TestBadFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testdata, "bad", "*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			first, rest, _ := strings.Cut(string(data), "\n")
			want := strings.TrimPrefix(first, "# want: ")
			_, err = config.Load(f)
			if err == nil {
				t.Fatalf("Load(%s) succeeded, want error %q", f, want)
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Load(%s) error %T %v, want *config.Error", f, err, err)
			}
			got := strings.TrimPrefix(err.Error(), f+":")
			if *update {
				os.WriteFile(f, []byte("# want: "+got+"\n"+rest), 0o644)
				return
			}
			if got != want {
				t.Errorf("Load(%s) error\n got: %s\nwant: %s", filepath.Base(f), got, want)
			}
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if ce.Line == 0 {
				t.Errorf("error has no line: %v", err)
			}
		})
	}
}
