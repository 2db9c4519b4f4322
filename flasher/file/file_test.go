package file_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ota-agent/flasher"
	"ota-agent/flasher/file"
	"ota-agent/internal/peertest"
)

func image(b []byte) flasher.Image {
	return flasher.Image{R: bytes.NewReader(b), Size: int64(len(b)), Name: "remote.json", Version: "2"}
}

func TestInstallReplacesAtomically(t *testing.T) {
	sh := peertest.Need(t, "sh", "dash")
	dir := t.TempDir()
	path := filepath.Join(dir, "remote.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, "reloaded")
	tg, err := file.New(file.Config{Path: path, Mode: 0o640,
		PostInstall: []string{sh, "-c", `cat "$0" > "$1"`, path, marker},
		Log:         slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	want := []byte(`{"volume": 7}`)
	var last int64
	if err := tg.Install(t.Context(), image(want), func(done, total int64) { last = done }); err != nil {
		t.Fatalf("Install: %v", err)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, want) {
		t.Errorf("file = %q, want %q", got, want)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v, want 0640", st.Mode().Perm())
	}
	if seen, _ := os.ReadFile(marker); !bytes.Equal(seen, want) {
		t.Errorf("post_install saw %q, want the new content %q", seen, want)
	}
	if last != int64(len(want)) {
		t.Errorf("last progress = %d, want %d", last, len(want))
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("directory holds %d entries, want 2 (no temp file left)", len(ents))
	}
}

func TestPostInstallFailure(t *testing.T) {
	sh := peertest.Need(t, "sh", "dash")
	path := filepath.Join(t.TempDir(), "conf")
	tg, err := file.New(file.Config{Path: path, PostInstall: []string{sh, "-c", "echo reload refused >&2; exit 3"}})
	if err != nil {
		t.Fatal(err)
	}
	err = tg.Install(t.Context(), image([]byte("x")), nil)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(err.Error(), "reload refused") {
		t.Fatalf("Install = %v, want exit status 3 with the command's output", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "x" {
		t.Errorf("file = %q, want it replaced before the command ran", got)
	}
}

func TestShortImageLeavesFileUntouched(t *testing.T) {
	path := filepath.Join(t.TempDir(), "conf")
	os.WriteFile(path, []byte("old"), 0o644)
	tg, err := file.New(file.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	img := flasher.Image{R: bytes.NewReader([]byte("abc")), Size: 10}
	if err := tg.Install(t.Context(), img, nil); err == nil {
		t.Fatal("Install of a short image succeeded")
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Errorf("file = %q, want the old content kept", got)
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want 1 (temp file removed)", len(ents))
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		c    file.Config
	}{
		{"relative path", file.Config{Path: "etc/x"}},
		{"empty path", file.Config{}},
		{"missing directory", file.Config{Path: filepath.Join(dir, "nope", "x")}},
		{"mode with type bits", file.Config{Path: filepath.Join(dir, "x"), Mode: os.ModeSymlink | 0o644}},
		{"empty command", file.Config{Path: filepath.Join(dir, "x"), PostInstall: []string{""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := file.New(tt.c); err == nil {
				t.Errorf("New(%+v) succeeded, want an error", tt.c)
			}
		})
	}
}

func TestInstallCancelled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "conf")
	tg, _ := file.New(file.Config{Path: path})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := tg.Install(ctx, image([]byte("data")), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Install with a cancelled ctx = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("file exists after a cancelled install")
	}
}
