package esprom_test

import (
	"fmt"
	"math/rand"
	"sync/atomic"
	"testing"
	"time"

	"ota-agent/flasher/esprom"
	"ota-agent/flasher/esprom/espromtest"
	"ota-agent/platform/serial"
	"ota-agent/platform/serial/serialtest"
)

// countingPort counts the bytes that cross the line in both directions.
type countingPort struct {
	serial.Port
	n atomic.Int64
}

func (c *countingPort) Read(b []byte) (int, error) {
	n, err := c.Port.Read(b)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingPort) Write(b []byte) (int, error) {
	n, err := c.Port.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// BenchmarkFlashLineRate writes an image through the simulator's line-rate
// model (8N1, no turnaround latency, no flash service time) and reports the
// payload rate and the efficiency against the ROM protocol's wire limit:
// the time the bytes of the write phase (requests and replies, SLIP framing
// and escapes included) need on the line, divided by the time measured.
func BenchmarkFlashLineRate(b *testing.B) {
	for _, baud := range []int{115200, 921600} {
		for _, plain := range []bool{true, false} {
			mode := "compressed"
			if plain {
				mode = "plain"
			}
			size := 64 << 10
			if baud > 115200 {
				size = 256 << 10
			}
			b.Run(fmt.Sprintf("%d/%s/%dKiB", baud, mode, size>>10), func(b *testing.B) {
				img := make([]byte, size)
				rand.New(rand.NewSource(1)).Read(img) // incompressible: the wire carries every byte
				for range b.N {
					benchOnce(b, baud, plain, img)
				}
			})
		}
	}
}

func benchOnce(b *testing.B, baud int, plain bool, img []byte) {
	sim := espromtest.New(espromtest.Options{LineRate: true})
	port := &countingPort{Port: servePty(b, sim)}
	ctx := b.Context()
	f := esprom.New(port, esprom.Config{Offset: 0x10000, Baud: baud, Plain: plain})
	if err := f.Connect(ctx); err != nil {
		b.Fatal(err)
	}
	if err := f.ChangeBaud(ctx); err != nil {
		b.Fatal(err)
	}
	port.n.Store(0)
	start := time.Now()
	if err := f.Write(ctx, img, nil); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	if err := f.Verify(ctx, img); err != nil {
		b.Fatal(err)
	}
	wire := time.Duration(port.n.Load()) * serialtest.ByteTime(baud, 10)
	b.ReportMetric(float64(len(img))/1024/elapsed.Seconds(), "KiB/s")
	b.ReportMetric(100*wire.Seconds()/elapsed.Seconds(), "efficiency_%")
	b.ReportMetric(elapsed.Seconds(), "write_s")
}
