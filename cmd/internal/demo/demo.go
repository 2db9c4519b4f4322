package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Options configure Run.
type Options struct {
	API    string // one of APIs; "" = aliyun, which offers all three parts
	Binary string // the ota-agent binary to run (ota-sim: --agent, next to itself or on $PATH)
	Dir    string // work directory; "" = a new temporary one
	Keep   bool   // leave the work directory
	Out    io.Writer
	Log    *slog.Logger // the simulators' and servers' log; nil = discard
}

// Step is one timed step of the demo.
type Step struct {
	Name string
	Took time.Duration
}

// Summary is what a demo run did.
type Summary struct {
	API      string
	Dir      string // removed unless Options.Keep
	Steps    []Step
	Total    time.Duration
	Verified []string // facts checked on the simulated hardware at the end
}

// run is one demo in progress.
type run struct {
	o     Options
	dir   string
	cfg   string
	dev   *Device
	srv   Server
	imgs  map[string][]byte
	vers  map[string]string
	key   *Signer
	slot  string // the slot the last committed rootfs is in ("" = B)
	sum   *Summary
	start time.Time
}

// Run plays the whole product on simulated hardware: it starts the API's
// fake server, a simulated STM32 and MXChip Wi-Fi module on ptys and
// file-backed A/B slots with a U-Boot environment, writes agent.toml and runs
// the real agent binary through check, update, the bootloader's reboot,
// commit and status, narrating on o.Out. It needs no root and no network.
func Run(ctx context.Context, o Options) (Summary, error) {
	if o.API == "" {
		o.API = "aliyun"
	}
	if !slices.Contains(APIs, o.API) {
		return Summary{}, fmt.Errorf("demo: --api %q: want one of %s", o.API, strings.Join(APIs, ", "))
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	r := &run{o: o, sum: &Summary{API: o.API}, start: time.Now()}
	err := r.setup(ctx)
	if err == nil {
		err = r.play(ctx)
	}
	err = errors.Join(err, r.teardown())
	r.sum.Total = time.Since(r.start)
	return *r.sum, err
}

func (r *run) setup(ctx context.Context) error {
	r.dir = r.o.Dir
	if r.dir == "" {
		d, err := os.MkdirTemp("", "ota-agent-demo-")
		if err != nil {
			return fmt.Errorf("demo: work dir: %w", err)
		}
		r.dir = d
	}
	r.sum.Dir = r.dir
	var err error
	if r.dev, err = StartDevice(ctx, r.dir, DeviceOptions{LineRate: true, Log: r.o.Log}); err != nil {
		return err
	}
	if r.srv, err = NewServer(r.o.API, r.o.Log); err != nil {
		return err
	}
	r.imgs = map[string][]byte{"rootfs": Image(1, 4<<20), "mcu": Image(2, 16<<10), "wifi": Image(3, 64<<10)}
	r.vers = map[string]string{"rootfs": "2.0.0", "mcu": "1.1.0", "wifi": "1.1.0"}
	if r.o.API == "upgradelink" {
		r.vers = map[string]string{"rootfs": "2", "mcu": "2", "wifi": "2"}
	}
	if r.key, err = NewSigner(); err != nil {
		return err
	}
	r.cfg = filepath.Join(r.dir, "agent.toml")
	return WriteConfig(r.cfg, r.dev, r.srv, ConfigOptions{StateDir: filepath.Join(r.dir, "state"),
		Components: []string{"rootfs", "mcu", "wifi"}, Policy: []string{`prompt = "hold"`}, PublicKey: r.key.Public.String()})
}

func (r *run) teardown() error {
	var errs []error
	if r.srv != nil {
		r.srv.Close()
	}
	if r.dev != nil {
		errs = append(errs, r.dev.Close())
	}
	if !r.o.Keep && r.o.Dir == "" && r.dir != "" {
		errs = append(errs, os.RemoveAll(r.dir))
	}
	return errors.Join(errs...)
}

// Image returns n deterministic pseudo-random bytes (xorshift), a stand-in
// for a firmware image that does not compress.
func Image(seed uint64, n int) []byte {
	b := make([]byte, n)
	x := seed*0x9E3779B97F4A7C15 | 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x >> 32)
	}
	return b
}

// step runs f as a numbered, timed step.
func (r *run) step(title string, f func() error) error {
	fmt.Fprintf(r.o.Out, "\n\033[1m▶ %s\033[0m\n", title)
	t := time.Now()
	err := f()
	took := time.Since(t)
	r.sum.Steps = append(r.sum.Steps, Step{Name: title, Took: took})
	if err != nil {
		return fmt.Errorf("demo step %q: %w", title, err)
	}
	fmt.Fprintf(r.o.Out, "  (%.1fs)\n", took.Seconds())
	return nil
}

// agent runs the real binary with the demo's configuration, its output
// going straight to Out (so a terminal shows its progress bars).
func (r *run) agent(ctx context.Context, args ...string) error {
	fmt.Fprintf(r.o.Out, "$ ota-agent %s\n", strings.Join(args, " "))
	full := append([]string{"-c", r.cfg, "--log-level", "warn"}, args...)
	cmd := exec.CommandContext(ctx, r.o.Binary, full...)
	cmd.Stdout, cmd.Stderr = r.o.Out, r.o.Out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ota-agent %s: %w", args[0], err)
	}
	return nil
}

func (r *run) say(format string, args ...any) {
	fmt.Fprintf(r.o.Out, "  "+format+"\n", args...)
}
