package espromtest_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ota-agent/flasher/esprom/espromtest"
)

var update = flag.Bool("update", false, "rewrite the esptool transcripts in testdata/esptool-4.8.1 (needs OTA_ESPTOOL)")

// goldenDir holds one transcript per esptool command, recorded in order
// against one simulated chip.
const goldenDir = "testdata/esptool-4.8.1"

// esptoolRun is one esptool invocation of the recorded session. want are
// lines its output must contain.
type esptoolRun struct {
	name string
	args []string
	want []string
}

// session is the recorded sequence: identification, a plain and a
// compressed write, verify, read back, the refused erase, and last a write
// after a baud change (the ROM then stays at 921600, as a real one would
// with --after no_reset).
var session = []esptoolRun{
	{"01-flash_id", []string{"flash_id"}, []string{"Manufacturer: ef", "Device: 4016", "Detected flash size: 4MB"}},
	{"02-read_mac", []string{"read_mac"}, []string{"Chip is ESP32-D0WD-V3 (revision v3.0)", "Crystal is 40MHz", "MAC: 24:0a:c4:5e:a1:01"}},
	{"03-chip_id", []string{"chip_id"}, []string{"ESP32 has no Chip ID. Reading MAC instead.", "MAC: 24:0a:c4:5e:a1:01"}},
	{"04-write_flash", []string{"write_flash", "0x10000", "fw.bin"}, []string{"Wrote 8192 bytes at 0x00010000", "Hash of data verified."}},
	{"05-write_flash-z", []string{"write_flash", "-z", "0x30000", "fw.bin"}, []string{"Wrote 8192 bytes (", "Hash of data verified."}},
	{"06-verify_flash", []string{"verify_flash", "0x10000", "fw.bin"}, []string{"-- verify OK (digest matched)"}},
	{"07-read_flash", []string{"read_flash", "0x10000", "0x1000", "back.bin"}, []string{"Read 4096 bytes at 0x00010000"}},
	{"08-erase_region", []string{"erase_region", "0x20000", "0x1000"}, []string{"ESP32 ROM does not support function erase_region."}},
	{"09-write_flash-921600", []string{"--baud", "921600", "write_flash", "0x18000", "fw.bin"}, []string{"Changed.", "Wrote 8192 bytes at 0x00018000", "Hash of data verified."}},
}

// sessionImage is the 8 KiB image the session writes.
func sessionImage() []byte {
	img := make([]byte, 8192)
	r := rand.New(rand.NewSource(21))
	for i := 0; i < len(img); i += 64 {
		if r.Intn(2) == 0 {
			r.Read(img[i : i+64])
		}
	}
	return img
}

// TestEsptoolROMMode runs the real esptool in ROM mode (--no-stub) against
// the simulator and checks its output and that it sends what the golden
// transcripts hold (with -update, it rewrites them). It needs esptool,
// which is not a Debian package and not in CI: OTA_ESPTOOL is the command,
// e.g. "/usr/bin/python3 /path/to/esptool.py" (esptool v4.8.1). CI proves
// the simulator against esptool with TestEsptoolTranscripts instead.
func TestEsptoolROMMode(t *testing.T) {
	tool := strings.Fields(os.Getenv("OTA_ESPTOOL"))
	if len(tool) == 0 {
		t.Skip("OTA_ESPTOOL not set (e.g. \"/usr/bin/python3 esptool.py\"); TestEsptoolTranscripts replays the recorded session")
	}
	dir := t.TempDir()
	img := sessionImage()
	os.WriteFile(filepath.Join(dir, "fw.bin"), img, 0o644)
	var cur bytes.Buffer
	sim := espromtest.New(espromtest.Options{Transcript: &cur, Fatalf: t.Errorf})
	link := filepath.Join(dir, "esptty")
	serveLink(t, sim, link)
	for _, run := range session {
		cur.Reset()
		out := esptool(t, tool, dir, link, run.args)
		for _, w := range run.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: esptool output lacks %q:\n%s", run.name, w, out)
			}
		}
		checkGolden(t, run, cur.Bytes())
	}
	back, _ := os.ReadFile(filepath.Join(dir, "back.bin"))
	if !bytes.Equal(back, img[:4096]) {
		t.Errorf("read_flash returned %d bytes that differ from the image written", len(back))
	}
	for _, off := range []int{0x10000, 0x18000, 0x30000} {
		if !bytes.Equal(sim.Flash(off, len(img)), img) {
			t.Errorf("flash at %#x differs from the image esptool wrote", off)
		}
	}
}

func serveLink(t *testing.T, sim *espromtest.Sim, link string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.ServePath(ctx, link) }()
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(link); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("simulator: %v", err)
		}
	})
}

// esptool runs one ROM-mode esptool command on link in dir, with HOME set
// to dir so no user configuration (esptool.cfg) is read.
func esptool(t *testing.T, tool []string, dir, link string, args []string) string {
	t.Helper()
	argv := append(append(tool[1:len(tool):len(tool)], "--chip", "esp32", "--port", link, "--baud", "115200", "--before", "no_reset",
		"--after", "no_reset", "--no-stub"), args...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool[0], argv...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "ESPTOOL_CFGFILE=")
	out, err := cmd.CombinedOutput()
	if err != nil && !strings.Contains(string(out), "does not support function erase_region") {
		t.Fatalf("esptool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// checkGolden compares a recorded exchange with its golden file, or
// rewrites the file with -update.
func checkGolden(t *testing.T, run esptoolRun, got []byte) {
	t.Helper()
	path := filepath.Join(goldenDir, run.name+".txt")
	header := fmt.Sprintf("# esptool.py v4.8.1 --chip esp32 --port PTY --baud 115200 --before no_reset --after no_reset --no-stub %s\n"+
		"# against espromtest (TestEsptoolROMMode -update); \"> \" host to ROM, \"< \" ROM to host, unframed.\n",
		strings.Join(run.args, " "))
	if *update {
		if err := os.WriteFile(path, append([]byte(header), got...), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with OTA_ESPTOOL and -update to record it)", err)
	}
	if diff := firstDiff(want, append([]byte(header), got...)); diff != "" {
		t.Errorf("%s: esptool's exchange differs from %s: %s", run.name, path, diff)
	}
}

// firstDiff names the first line where two transcripts differ.
func firstDiff(want, got []byte) string {
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := range max(len(w), len(g)) {
		wl, gl := at(w, i), at(g, i)
		if wl != gl {
			return fmt.Sprintf("line %d: want %.80q, got %.80q", i+1, wl, gl)
		}
	}
	return ""
}

func at(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "(end)"
}
