package config_test

import (
	"path/filepath"
	"testing"

	"ota-agent/agent/config"
)

// BenchmarkLoad loads, defaults and validates the SPEC §8 example once per
// iteration (what every CLI command does at start).
func BenchmarkLoad(b *testing.B) {
	path := filepath.Join(testdata, "agent.toml")
	for b.Loop() {
		if _, err := config.Load(path); err != nil {
			b.Fatal(err)
		}
	}
}
