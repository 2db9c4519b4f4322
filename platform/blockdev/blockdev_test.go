package blockdev_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"ota-agent/internal/peertest"
	"ota-agent/platform/blockdev"
)

const sampleMounts = `/dev/vda1 / ext4 rw,relatime,errors=remount-ro 0 0
proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
/dev/mmcblk0p3 /mnt/with\040space ext4 ro 0 0
tmpfs /run tmpfs rw 0 0
/dev/mmcblk0p2 / ext4 ro 0 0
`

func TestParseMounts(t *testing.T) {
	ms, err := blockdev.ParseMounts(strings.NewReader(sampleMounts))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 5 {
		t.Fatalf("ParseMounts = %d mounts, want 5", len(ms))
	}
	want := blockdev.Mount{Device: "/dev/mmcblk0p3", Point: "/mnt/with space", FSType: "ext4", Options: "ro"}
	if diff := cmp.Diff(want, ms[2]); diff != "" {
		t.Errorf("mount 2 (-want +got):\n%s", diff)
	}
	if got := blockdev.RootDevice(ms); got != "/dev/mmcblk0p2" {
		t.Errorf("RootDevice = %q, want the last / mount /dev/mmcblk0p2", got)
	}
	if got := blockdev.MountedAt(ms, "/dev/mmcblk0p3"); !cmp.Equal(got, []string{"/mnt/with space"}) {
		t.Errorf("MountedAt = %q", got)
	}
	if got := blockdev.MountedAt(ms, "/dev/sda9"); got != nil {
		t.Errorf("MountedAt(unmounted) = %q, want none", got)
	}
}

func TestParseMountsBad(t *testing.T) {
	if _, err := blockdev.ParseMounts(strings.NewReader("/dev/x /\n")); err == nil {
		t.Error("ParseMounts(two fields) succeeded, want an error")
	}
}

func TestRealMounts(t *testing.T) {
	f, err := os.Open(blockdev.DefaultMounts)
	if err != nil {
		peertest.Unavailable(t, "no mount table to read: "+err.Error())
	}
	defer f.Close()
	ms, err := blockdev.ParseMounts(f)
	if err != nil || len(ms) == 0 {
		t.Errorf("ParseMounts(%s) = %d mounts, %v", blockdev.DefaultMounts, len(ms), err)
	}
}

func TestFileSlot(t *testing.T) {
	p := filepath.Join(t.TempDir(), "slot")
	os.WriteFile(p, make([]byte, 8192), 0o644)
	f, err := blockdev.OpenExclusive(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if n, err := blockdev.Size(f); err != nil || n != 8192 {
		t.Errorf("Size = %d, %v; want 8192", n, err)
	}
	if n, err := blockdev.SectorSize(f); err != nil || n != 512 {
		t.Errorf("SectorSize = %d, %v; want 512", n, err)
	}
	if err := blockdev.DropCache(f, 0, 8192); err != nil {
		t.Error(err)
	}
	if _, err := blockdev.OpenExclusive(filepath.Dir(p)); err == nil {
		t.Error("OpenExclusive(directory) succeeded, want an error")
	}
	if _, err := blockdev.OpenExclusive(p + ".missing"); err == nil {
		t.Error("OpenExclusive(missing) succeeded, want an error")
	}
}

func FuzzParseMounts(f *testing.F) {
	f.Add(sampleMounts)
	if b, err := os.ReadFile(blockdev.DefaultMounts); err == nil {
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := blockdev.ParseMounts(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, m := range ms {
			if m.Device == "" || m.Point == "" {
				t.Fatalf("empty field in %+v", m)
			}
		}
		blockdev.RootDevice(ms)
	})
}
