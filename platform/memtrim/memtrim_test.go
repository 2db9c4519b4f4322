package memtrim

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadOnlyRegions(t *testing.T) {
	maps := `00400000-00a1e000 r-xp 00000000 fe:01 1234 /usr/bin/ota agent
00a1e000-01000000 r--p 0061e000 fe:01 1234 /usr/bin/ota agent
01000000-01050000 rw-p 00c00000 fe:01 1234 /usr/bin/ota agent
01050000-01100000 rw-p 00000000 00:00 0
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]
7f0000000000-7f0000001000 r--s 00000000 fe:01 99 /usr/bin/ota agent
`
	got, err := ReadOnlyRegions(strings.NewReader(maps), "/usr/bin/ota agent")
	if err != nil {
		t.Fatal(err)
	}
	want := []Region{{0x400000, 0xa1e000}, {0xa1e000, 0x1000000}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("regions (-want +got):\n%s", diff)
	}
	if _, err := ReadOnlyRegions(strings.NewReader("zz-yy r-xp 0 0:0 1 /x\n"), "/x"); err == nil {
		t.Error("bad range accepted")
	}
}

// TestTrimKeepsRunning drops this test binary's own code and data from its
// resident set, then goes on running code and reading data, which the kernel
// maps back in.
func TestTrimKeepsRunning(t *testing.T) {
	n, err := Trim()
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Error("Trim dropped nothing; the executable's mappings were not found")
	}
	if _, err := os.ReadFile("/proc/self/status"); err != nil {
		t.Fatal(err)
	}
	if s := strings.Repeat("ok", 3); s != "okokok" {
		t.Fatal("code misbehaved after Trim")
	}
}

func FuzzReadOnlyRegions(f *testing.F) {
	f.Add("00400000-00a1e000 r-xp 00000000 fe:01 1234 /bin/x\n", "/bin/x")
	f.Add("0-1 r--p 0 0:0 0 /bin/x\n\n", "/bin/x")
	f.Fuzz(func(t *testing.T, maps, path string) {
		rs, err := ReadOnlyRegions(strings.NewReader(maps), path)
		if err != nil {
			return
		}
		for _, r := range rs {
			if r.End <= r.Start {
				t.Fatalf("region %+v is empty or inverted", r)
			}
		}
	})
}
