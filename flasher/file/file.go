// Package file is the `file` component type (SPEC §1): a file on the device
// replaced atomically with the verified image, then an optional command
// (e.g. "systemctl reload app") that tells its consumer.
package file

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"ota-agent/platform/atomicfile"
	"path/filepath"
	"strings"

	"ota-agent/flasher"
)

// maxOutput is how much of a failing post_install command's output goes into
// the error.
const maxOutput = 2048

// Config describes one file component.
type Config struct {
	Path        string      // the file to replace, absolute
	Mode        os.FileMode // permission bits of the new file; 0 = 0644
	PostInstall []string    // command and arguments run after the replace; empty = none
	Log         *slog.Logger
}

// Target replaces Config.Path. It is safe for use by one goroutine at a time.
type Target struct {
	c   Config
	log *slog.Logger
}

var _ flasher.Target = (*Target)(nil)

// New checks c and returns its Target. The directory of c.Path must exist.
func New(c Config) (*Target, error) {
	if c.Path == "" || !filepath.IsAbs(c.Path) {
		return nil, fmt.Errorf("file component: path %q must be absolute", c.Path)
	}
	if c.Mode == 0 {
		c.Mode = 0o644
	}
	if c.Mode&^os.ModePerm != 0 {
		return nil, fmt.Errorf("file component %s: mode %v holds more than permission bits", c.Path, c.Mode)
	}
	if st, err := os.Stat(filepath.Dir(c.Path)); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("file component %s: directory %s must exist", c.Path, filepath.Dir(c.Path))
	}
	if len(c.PostInstall) > 0 && c.PostInstall[0] == "" {
		return nil, fmt.Errorf("file component %s: post_install has an empty command", c.Path)
	}
	log := c.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Target{c: c, log: log.With("component", "flasher/file", "path", c.Path)}, nil
}

// Install implements flasher.Target: it copies img to a temp file next to
// Path with Mode, fsyncs it, renames it over Path, fsyncs the directory,
// then runs PostInstall. A failure before the rename leaves Path untouched;
// a failing PostInstall returns its exit status and output (the new file
// stays: it is verified, the consumer is what failed).
func (t *Target) Install(ctx context.Context, img flasher.Image, progress flasher.Progress) error {
	if err := t.replace(ctx, img, progress); err != nil {
		return fmt.Errorf("install %s: %w", t.c.Path, err)
	}
	t.log.Info("file replaced", "version", img.Version, "bytes", img.Size)
	return t.postInstall(ctx)
}

func (t *Target) replace(ctx context.Context, img flasher.Image, progress flasher.Progress) error {
	return atomicfile.Replace(t.c.Path, t.c.Mode, func(f *os.File) error {
		w := &progressWriter{ctx: ctx, w: f, total: img.Size, progress: progress}
		n, err := io.Copy(w, io.NewSectionReader(img.R, 0, img.Size))
		if err != nil {
			return fmt.Errorf("copy image: %w", err)
		}
		if n != img.Size {
			return fmt.Errorf("copy image: got %d bytes, want %d", n, img.Size)
		}
		return nil
	})
}

// progressWriter reports progress and stops on ctx between writes.
type progressWriter struct {
	ctx      context.Context
	w        io.Writer
	done     int64
	total    int64
	progress flasher.Progress
}

func (p *progressWriter) Write(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := p.w.Write(b)
	p.done += int64(n)
	p.progress.Report(p.done, p.total)
	return n, err
}

func (t *Target) postInstall(ctx context.Context) error {
	if len(t.c.PostInstall) == 0 {
		return nil
	}
	cmd := exec.CommandContext(ctx, t.c.PostInstall[0], t.c.PostInstall[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err == nil {
		t.log.Info("post_install done", "command", strings.Join(t.c.PostInstall, " "))
		return nil
	}
	msg := strings.Join(strings.Fields(out.String()), " ")
	if len(msg) > maxOutput {
		msg = msg[:maxOutput] + "…"
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && msg == "" {
		msg = "no output"
	}
	return fmt.Errorf("install %s: post_install %q: %w: %s; the file was replaced, check the command", t.c.Path, strings.Join(t.c.PostInstall, " "), err, msg)
}
