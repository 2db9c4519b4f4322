package ab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// MaxPartition is the largest partition number accepted (GPT's usual 128
// entries, with room).
const MaxPartition = 999

// sysBlock is where the kernel lists block devices by major:minor; tests
// point it at a fake tree.
var sysBlock = "/sys/dev/block"

// PartitionNumber returns the partition number of a slot device, as Mender
// needs it for mender_boot_part. Symlinks are resolved first, so
// /dev/disk/by-partlabel/rootfs-b works. For a block device the kernel
// answers (/sys/dev/block/MAJ:MIN/partition); a whole disk or a whole loop
// device (/dev/loop3, not partition 3) has none and is refused. A regular
// file (file-backed rigs and the demo) is named by the trailing digits of
// its resolved name, e.g. .../part3 = 3.
func PartitionNumber(dev string) (int, error) {
	real, err := filepath.EvalSymlinks(dev)
	if err != nil {
		return 0, fmt.Errorf("resolve device %q: %w", dev, err)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return 0, fmt.Errorf("device %q: %w", dev, err)
	}
	switch m := fi.Mode(); {
	case m.IsRegular():
		n, ok := PartNumber(filepath.Base(real))
		if !ok {
			return 0, fmt.Errorf("file %q (%s) does not end in a partition number", dev, real)
		}
		return n, nil
	case m&os.ModeDevice != 0 && m&os.ModeCharDevice == 0:
		return blockPartition(dev, real)
	}
	return 0, fmt.Errorf("device %q (%s) is a %s, not a block device or a file", dev, real, fi.Mode().Type())
}

// blockPartition reads the kernel's partition number of a block device.
func blockPartition(dev, real string) (int, error) {
	var st unix.Stat_t
	if err := unix.Stat(real, &st); err != nil {
		return 0, fmt.Errorf("device %q (%s): %w", dev, real, err)
	}
	attr := filepath.Join(sysBlock, fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev)), "partition")
	b, err := os.ReadFile(attr)
	if errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("device %q (%s) is a whole disk, not a partition (the kernel has no %s)", dev, real, attr)
	}
	if err != nil {
		return 0, fmt.Errorf("device %q (%s): read %s: %w", dev, real, attr, err)
	}
	return parsePartition(b, attr)
}

// parsePartition parses the kernel's partition attribute: a decimal
// number and a newline.
func parsePartition(b []byte, attr string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSuffix(string(b), "\n"))
	if err != nil || n < 1 || n > MaxPartition {
		return 0, fmt.Errorf("%s holds %q, want a partition number 1..%d", attr, clip(b), MaxPartition)
	}
	return n, nil
}

func clip(b []byte) string {
	if len(b) > 16 {
		b = b[:16]
	}
	return string(b)
}
