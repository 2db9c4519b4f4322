package ab

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"ota-agent/internal/peertest"
)

// fakeBlock makes a block device node at path with major:minor in a fake
// sysfs tree; part, when not empty, is its "partition" attribute.
func fakeBlock(t *testing.T, path string, major, minor uint32, part string) {
	t.Helper()
	peertest.NeedRoot(t, "mknod of block device nodes")
	if err := unix.Mknod(path, unix.S_IFBLK|0o600, int(unix.Mkdev(major, minor))); err != nil {
		t.Fatalf("mknod %s: %v", path, err)
	}
	dir := filepath.Join(sysBlock, fmt.Sprintf("%d:%d", major, minor))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if part != "" {
		os.WriteFile(filepath.Join(dir, "partition"), []byte(part), 0o444)
	}
}

func fakeSys(t *testing.T) string {
	old := sysBlock
	sysBlock = t.TempDir()
	t.Cleanup(func() { sysBlock = old })
	dev := t.TempDir()
	os.MkdirAll(filepath.Join(dev, "disk", "by-partlabel"), 0o755)
	return dev
}

// TestPartitionNumber: symlinks are resolved, block devices are asked
// (the kernel's partition attribute), whole devices are refused.
func TestPartitionNumber(t *testing.T) {
	dev := fakeSys(t)
	fakeBlock(t, filepath.Join(dev, "mmcblk0p3"), 179, 3, "3\n")
	fakeBlock(t, filepath.Join(dev, "loop3"), 7, 3, "")
	fakeBlock(t, filepath.Join(dev, "sdb"), 8, 16, "garbage\n")
	os.WriteFile(filepath.Join(dev, "part7"), nil, 0o644)
	os.WriteFile(filepath.Join(dev, "rootfs"), nil, 0o644)
	os.Symlink("../../mmcblk0p3", filepath.Join(dev, "disk", "by-partlabel", "rootfs-b"))
	os.Symlink("../../part7", filepath.Join(dev, "disk", "by-partlabel", "file-b"))
	os.Symlink("../../loop3", filepath.Join(dev, "disk", "by-partlabel", "whole"))
	tests := []struct {
		path string
		want int
		err  string
	}{
		{"mmcblk0p3", 3, ""},
		{"disk/by-partlabel/rootfs-b", 3, ""},
		{"disk/by-partlabel/file-b", 7, ""},
		{"loop3", 0, "is a whole disk, not a partition"},
		{"disk/by-partlabel/whole", 0, "is a whole disk, not a partition"},
		{"sdb", 0, `holds "garbage\n", want a partition number`},
		{"rootfs", 0, "does not end in a partition number"},
		{"missing", 0, "resolve device"},
	}
	for _, tt := range tests {
		got, err := PartitionNumber(filepath.Join(dev, tt.path))
		if tt.err == "" && (err != nil || got != tt.want) {
			t.Errorf("PartitionNumber(%s) = %d, %v; want %d", tt.path, got, err, tt.want)
		}
		if tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("PartitionNumber(%s) = %d, %v; want an error with %q", tt.path, got, err, tt.err)
		}
	}
}

// TestPartitionRealLoop: the real /dev/loop0..7 of this machine are whole
// devices in the real sysfs; none reads as a partition number.
func TestPartitionRealLoop(t *testing.T) {
	loops, _ := filepath.Glob("/dev/loop[0-9]")
	if len(loops) == 0 {
		peertest.Unavailable(t, "no /dev/loopN on this machine; TestPartitionNumber covers whole devices with a fake sysfs")
	}
	for _, l := range loops {
		if n, err := PartitionNumber(l); err == nil || !strings.Contains(err.Error(), "is a whole disk") {
			t.Errorf("PartitionNumber(%s) = %d, %v; want a whole-disk refusal", l, n, err)
		}
	}
}

// TestNewMenderPartitions: whole loop devices are refused with a message
// asking for partitions; configured numbers are used as given and checked.
func TestNewMenderPartitions(t *testing.T) {
	dev := fakeSys(t)
	fakeBlock(t, filepath.Join(dev, "loop3"), 7, 3, "")
	fakeBlock(t, filepath.Join(dev, "loop4"), 7, 4, "")
	slots := map[string]string{"A": filepath.Join(dev, "loop3"), "B": filepath.Join(dev, "loop4")}
	if _, err := newMender(Config{Slots: slots}, []string{"A", "B"}); err == nil ||
		!strings.Contains(err.Error(), "whole disk") || !strings.Contains(err.Error(), "set [component.ab] partitions") {
		t.Errorf("newMender(whole loop devices) = %v, want a refusal asking for partitions", err)
	}
	m, err := newMender(Config{Slots: slots, Partitions: map[string]int{"A": 2, "B": 3}}, []string{"A", "B"})
	if err != nil || m.part["A"] != 2 || m.part["B"] != 3 {
		t.Errorf("newMender(partitions A=2 B=3) = %v, %v", m.part, err)
	}
	for _, p := range []map[string]int{{"A": 2}, {"A": 2, "B": 0}, {"A": 2, "B": 2}, {"A": 2, "B": 1000}} {
		if _, err := newMender(Config{Slots: slots, Partitions: p}, []string{"A", "B"}); err == nil {
			t.Errorf("newMender(partitions %v) succeeded, want an error", p)
		}
	}
}

// FuzzParsePartition: the kernel attribute parser accepts exactly the
// numbers 1..MaxPartition and never panics.
func FuzzParsePartition(f *testing.F) {
	for _, s := range []string{"3\n", "0\n", "999", "-1\n", "1000\n", "+2\n", " 2\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := parsePartition(b, "partition")
		if err == nil && (n < 1 || n > MaxPartition) {
			t.Fatalf("parsePartition(%q) = %d", b, n)
		}
	})
}
