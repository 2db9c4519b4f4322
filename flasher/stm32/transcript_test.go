package stm32_test

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"ota-agent/flasher/stm32"
	"ota-agent/flasher/stm32/stm32test"
)

var update = flag.Bool("update", false, "rewrite the golden transcripts in testdata/stm32")

// golden is the transcript file for a stm32flash session.
const golden = "../../testdata/stm32/stm32flash-0x410-w-v-g.txt"

// TestTranscriptMatchesStm32flash runs stm32flash and our flasher on the
// same image against the same simulated part and compares what each asked
// the bootloader to do: the same erase, the same writes and, with
// read-back verify, the same reads (order aside: stm32flash verifies each
// block right after writing it, we verify after all writes). stm32flash's
// own transcript is kept in testdata as the reference.
func TestTranscriptMatchesStm32flash(t *testing.T) {
	img := image(5000, 11)
	f := filepath.Join(t.TempDir(), "fw.bin")
	os.WriteFile(f, img, 0o644)

	simA, pA := startSim(t, stm32test.Options{PID: 0x410})
	stm32flash(t, pA.Path, "-w", f, "-v", "-g", "0x0")
	theirs := simA.Commands()
	if *update {
		os.WriteFile(golden, []byte(strings.Join(theirs, "\n")+"\n"), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(strings.Fields(string(want)), strings.Fields(strings.Join(theirs, " "))); diff != "" {
		t.Errorf("stm32flash transcript changed (-want +got):\n%s", diff)
	}

	simB, pB := startSim(t, stm32test.Options{PID: 0x410, InApp: true})
	if _, err := install(t, simB, pB, img, stm32.TargetConfig{}); err != nil {
		t.Fatal(err)
	}
	ours := simB.Commands()
	if diff := cmp.Diff(normalize(theirs), normalize(ours)); diff != "" {
		t.Errorf("flash operations differ from stm32flash's (-stm32flash +ours):\n%s", diff)
	}
}

// normalize keeps the erase, write and full-block read requests, sorted.
func normalize(cmds []string) []string {
	var out []string
	for _, c := range cmds {
		if strings.HasPrefix(c, "erase") || strings.HasPrefix(c, "write") ||
			(strings.HasPrefix(c, "read") && !strings.HasSuffix(c, "+4")) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}
