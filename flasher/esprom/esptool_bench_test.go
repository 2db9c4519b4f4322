package esprom_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ota-agent/flasher/esprom"
	"ota-agent/flasher/esprom/espromtest"
)

// esptoolRecorded are esptool v4.8.1's times in ROM mode (--no-stub, so
// plain writes: it compresses only when asked with -z) for the same jobs on
// the same line model: medians of 3 runs at 115200 and 4 at 921600 of this
// benchmark with OTA_ESPTOOL set, on 2026-12-01 (2-core VM, system python
// 3.11.2, pyserial 3.5). Keyed by "baud/image".
var esptoolRecorded = map[string]phases{
	"115200/random":   {write: 24.15, job: 24.48, turnaround: 0.76},
	"115200/firmware": {write: 24.27, job: 24.63, turnaround: 0.62},
	"921600/random":   {write: 3.365, job: 3.556, turnaround: 0.57},
	"921600/firmware": {write: 3.441, job: 3.645, turnaround: 0.66},
}

// phases are a session's times in seconds as the simulator saw them:
// write from the (compressed or plain) FLASH_BEGIN request to the reply to
// the last data block, job from the first SYNC to the SPI_FLASH_MD5 reply.
// turnaround is the host's mean time in milliseconds from the reply to a
// data block leaving the simulator to the simulator reading the next
// block's request in full (the pty carries it at once; the line model
// charges its line time after): what the host adds per block.
type phases struct{ write, job, turnaround float64 }

// BenchmarkVsEsptool writes 256 KiB at 0x10000 through the simulator's
// line model (8N1, no latency) at 115200 and 921600, with a random image
// (nothing to compress) and a firmware-like one, and reports our times
// next to esptool's recorded ones and the ratio (ours / esptool; ≤ 1 is
// the goal). With OTA_ESPTOOL (e.g. "/usr/bin/python3 esptool.py") it runs
// esptool on the same image and simulator model and reports that too.
func BenchmarkVsEsptool(b *testing.B) {
	for _, baud := range []int{115200, 921600} {
		for _, kind := range []string{"random", "firmware"} {
			img := benchImage(kind)
			key := fmt.Sprintf("%d/%s", baud, kind)
			b.Run(key, func(b *testing.B) {
				var ours phases
				for range b.N {
					ours = flashOurs(b, baud, img)
				}
				theirs := esptoolRecorded[key]
				if tool := strings.Fields(os.Getenv("OTA_ESPTOOL")); len(tool) > 0 {
					theirs = flashEsptool(b, tool, baud, img)
				}
				b.ReportMetric(ours.write, "write_s")
				b.ReportMetric(ours.job, "job_s")
				b.ReportMetric(theirs.write, "esptool_write_s")
				b.ReportMetric(theirs.job, "esptool_job_s")
				b.ReportMetric(ours.turnaround, "turnaround_ms")
				b.ReportMetric(theirs.turnaround, "esptool_turnaround_ms")
				b.ReportMetric(ours.write/theirs.write, "write_ratio")
				b.ReportMetric(ours.job/theirs.job, "job_ratio")
			})
		}
	}
}

// benchImage is 256 KiB of random bytes or of firmware-like content.
func benchImage(kind string) []byte {
	if kind == "firmware" {
		return firmware(256<<10, 21)
	}
	img := make([]byte, 256<<10)
	rand.New(rand.NewSource(1)).Read(img)
	return img
}

// opTimes records when the simulator decoded each request and sent each
// reply, from its transcript.
type opTimes struct {
	mu   sync.Mutex
	evts []opEvent
}

type opEvent struct {
	at    time.Time
	reply bool
	op    esprom.Op
}

// Write implements io.Writer for one transcript line ("> 00op..." or "< 01op...").
func (o *opTimes) Write(p []byte) (int, error) {
	if len(p) >= 6 {
		var op byte
		fmt.Sscanf(string(p[4:6]), "%02x", &op)
		o.mu.Lock()
		o.evts = append(o.evts, opEvent{at: time.Now(), reply: p[0] == '<', op: esprom.Op(op)})
		o.mu.Unlock()
	}
	return len(p), nil
}

func (o *opTimes) phases(b *testing.B) phases {
	o.mu.Lock()
	defer o.mu.Unlock()
	var sync, begin, lastData, md5 time.Time
	var gaps time.Duration
	var ngaps int
	for _, e := range o.evts {
		isData := e.op == esprom.OpFlashData || e.op == esprom.OpFlashDeflData
		if !e.reply && isData && !lastData.IsZero() {
			gaps += e.at.Sub(lastData)
			ngaps++
		}
		switch {
		case !e.reply && e.op == esprom.OpSync && sync.IsZero():
			sync = e.at
		case !e.reply && (e.op == esprom.OpFlashBegin || e.op == esprom.OpFlashDeflBegin) && begin.IsZero():
			begin = e.at
		case e.reply && isData:
			lastData = e.at
		case e.reply && e.op == esprom.OpSPIFlashMD5:
			md5 = e.at
		}
	}
	if sync.IsZero() || begin.IsZero() || lastData.IsZero() || md5.IsZero() {
		b.Fatalf("session lacks SYNC, a begin, data or MD5 (%d events)", len(o.evts))
	}
	return phases{write: lastData.Sub(begin).Seconds(), job: md5.Sub(sync).Seconds(),
		turnaround: gaps.Seconds() * 1000 / float64(max(ngaps, 1))}
}

// flashOurs runs the whole job (Flash: connect, baud, write, verify, run).
func flashOurs(b *testing.B, baud int, img []byte) phases {
	var times opTimes
	sim := espromtest.New(espromtest.Options{LineRate: true, Transcript: &times})
	f := esprom.New(servePty(b, sim), esprom.Config{Offset: 0x10000, Baud: baud})
	if err := f.Flash(b.Context(), img, nil); err != nil {
		b.Fatal(err)
	}
	if !bytes.Equal(sim.Flash(0x10000, len(img)), img) {
		b.Fatal("flash differs from the image")
	}
	return times.phases(b)
}

// flashEsptool runs esptool write_flash in ROM mode on the same model.
func flashEsptool(b *testing.B, tool []string, baud int, img []byte) phases {
	var times opTimes
	sim := espromtest.New(espromtest.Options{LineRate: true, Transcript: &times})
	dir := b.TempDir()
	link := filepath.Join(dir, "esptty")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.ServePath(ctx, link) }()
	defer func() { cancel(); <-done }()
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(link); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	os.WriteFile(filepath.Join(dir, "img.bin"), img, 0o644)
	argv := append(append(tool[1:len(tool):len(tool)], "--chip", "esp32", "--port", link, "--baud", fmt.Sprint(baud),
		"--before", "no_reset", "--after", "no_reset", "--no-stub"), "write_flash", "0x10000", "img.bin")
	cmd := exec.Command(tool[0], argv...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "ESPTOOL_CFGFILE=")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Hash of data verified.") {
		b.Fatalf("esptool: %v\n%s", err, out)
	}
	if !bytes.Equal(sim.Flash(0x10000, len(img)), img) {
		b.Fatal("flash differs from the image after esptool")
	}
	return times.phases(b)
}
