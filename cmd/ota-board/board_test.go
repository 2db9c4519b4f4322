package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ota-agent/internal/peertest"
)

// TestMain lets the test binary stand in for ota-board in QEMU's guestfwd
// rule: the board runs `<this binary> connect 127.0.0.1:PORT` per guest
// connection (board.self is os.Executable()).
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == "connect" {
		if err := connect(os.Args[2], os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "ota-board:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// shortSet is what `make test` runs on the board: the whole update (two
// boots, download, slot write, reboot through U-Boot, MCU flash, commit)
// and the systemd watchdog, about 3.5 min under TCG on 2 cores. The
// fallback and the power-cut campaign run in `make board-test`.
var shortSet = []string{"update", "watchdog"}

// TestBoardShort runs the short set on the board `make board` cached
// (BOARD_DIR, default bin/board at the module's root). Without root, QEMU,
// U-Boot, fw_printenv or the cached disk it skips, or fails with CI set
// (internal/peertest): .ci/run installs the tools and runs make board first.
func TestBoardShort(t *testing.T) {
	b := needBoard(t)
	l, err := b.lock()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, name := range shortSet {
		t.Run(name, func(t *testing.T) {
			s, ok := scenarioNamed(name)
			if !ok {
				t.Fatalf("no scenario %q (have %s)", name, scenarioNames())
			}
			start := time.Now()
			if err := runOne(t.Context(), b, s, false); err != nil {
				t.Fatalf("board scenario %s after %s: %v (console log in %s)", name,
					time.Since(start).Round(time.Second), err, filepath.Join(b.runs, "run-"+name))
			}
			t.Logf("board scenario %s: ok in %s", name, time.Since(start).Round(time.Second))
		})
	}
}

// needBoard opens the cached board with its peers, or skips (fails in CI)
// saying what is missing and how to get it.
func needBoard(t *testing.T) *board {
	t.Helper()
	peertest.NeedRoot(t, "the board `make board` builds is root's (mmdebstrap, chroot)")
	peertest.Need(t, "qemu-system-aarch64", "qemu-system-arm")
	peertest.Need(t, "fw_printenv", "libubootenv-tool")
	dir := os.Getenv("BOARD_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "bin", "board") // the test runs in cmd/ota-board
	}
	b, err := openBoard(dir)
	if err != nil {
		peertest.Unavailable(t, fmt.Sprintf("no cached board: %v", err))
		return nil
	}
	b.runs = b.path("test")
	return b
}

// scenarioNamed finds a scenario of the table by name.
func scenarioNamed(name string) (scenario, bool) {
	for _, s := range scenarios {
		if s.name == name {
			return s, true
		}
	}
	return scenario{}, false
}

// TestBoardLock: a second holder of the board's lock waits until the first
// lets go (flock locks open files, so two in one process exclude each other).
func TestBoardLock(t *testing.T) {
	b := &board{dir: t.TempDir()}
	first, err := b.lock()
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		second, err := b.lock()
		if err == nil {
			second.Close()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("second lock taken while the first is held (err %v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	first.Close()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("second lock after the first's release: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("second lock not taken within a minute of the first's release")
	}
}
