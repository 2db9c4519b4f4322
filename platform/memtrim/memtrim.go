// Package memtrim returns memory an idle daemon does not need to the
// kernel: the Go heap it freed, and the pages of its own executable that it
// touched while checking and installing.
//
// A Go binary's code and read-only data are mapped from the file; fault-around
// maps 64 KiB around every page touched, so after one check and install most
// of a 10 MB binary counts in the daemon's RSS for the hours it then sleeps.
// Those mappings are private, read-only and unmodified, so MADV_DONTNEED only
// unmaps them: the kernel maps them again from the page cache (or the file)
// when the daemon next runs that code. Writable mappings are never touched.
package memtrim

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Region is one mapping of the executable that can be dropped.
type Region struct {
	Start, End uintptr
}

// Sparse stops the kernel from mapping the executable's code and read-only
// data 64 KiB at a time around every page touched (fault-around is off for
// mappings advised MADV_RANDOM), so only the pages the agent actually runs
// count in its RSS. Call it once at start.
func Sparse() error {
	return advise(unix.MADV_RANDOM)
}

// Trim frees the Go heap to the OS and drops the executable's read-only
// mappings from the resident set. It returns the bytes of mappings dropped.
func Trim() (int64, error) {
	debug.FreeOSMemory()
	regions, err := exeRegions()
	if err != nil {
		return 0, err
	}
	var n int64
	for _, r := range regions {
		if err := r.advise(unix.MADV_DONTNEED); err != nil {
			return n, err
		}
		n += int64(r.End - r.Start)
	}
	return n, nil
}

func advise(advice int) error {
	regions, err := exeRegions()
	if err != nil {
		return err
	}
	for _, r := range regions {
		if err := r.advise(advice); err != nil {
			return err
		}
	}
	return nil
}

func (r Region) advise(advice int) error {
	if _, _, e := unix.Syscall(unix.SYS_MADVISE, r.Start, r.End-r.Start, uintptr(advice)); e != 0 {
		return fmt.Errorf("madvise %#x-%#x: %w", r.Start, r.End, e)
	}
	return nil
}

// exeRegions returns the read-only mappings of the running executable.
func exeRegions() ([]Region, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find executable: %w", err)
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadOnlyRegions(f, exe)
}

// ReadOnlyRegions parses /proc/self/maps and returns the mappings of path
// that are private and not writable (code and read-only data).
func ReadOnlyRegions(maps io.Reader, path string) ([]Region, error) {
	var out []Region
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		// 00400000-0081e000 r-xp 00000000 fe:01 123 /usr/bin/ota-agent
		f := strings.Fields(sc.Text())
		if len(f) < 6 || strings.Join(f[5:], " ") != path {
			continue
		}
		perm := f[1]
		if len(perm) != 4 || perm[0] != 'r' || perm[1] != '-' || perm[3] != 'p' {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			return nil, fmt.Errorf("maps line %q: bad address range", sc.Text())
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			return nil, fmt.Errorf("maps line %q: bad address range", sc.Text())
		}
		out = append(out, Region{Start: uintptr(start), End: uintptr(end)})
	}
	return out, sc.Err()
}
