//go:build pprof

package main

// A profiling build (go build -tags pprof ./cmd/ota-agent) writes a CPU
// profile of each command to $OTA_CPUPROFILE.<pid> (README "Measured
// figures"); the device binary has none of this.

import (
	"fmt"
	"os"
	"runtime/pprof"
)

func init() {
	path := os.Getenv("OTA_CPUPROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(fmt.Sprintf("%s.%d", path, os.Getpid()))
	if err == nil && pprof.StartCPUProfile(f) == nil {
		stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
	}
}
