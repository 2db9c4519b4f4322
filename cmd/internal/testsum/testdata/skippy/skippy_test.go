// Package skippy is testsum's fixture: real go test -json output with every
// way a test can end. SKIPPY_FAIL=1 adds a failure.
package skippy

import (
	"fmt"
	"os"
	"testing"
)

func TestPass(t *testing.T) {}

func TestSkip(t *testing.T) { t.Skip("no widget here") }

func TestAllSkipped(t *testing.T) {
	for _, n := range []string{"a", "b"} {
		t.Run(n, func(t *testing.T) { t.Skipf("no %s", n) })
	}
}

func TestMixed(t *testing.T) {
	t.Run("runs", func(t *testing.T) {})
	t.Run("skips", func(t *testing.T) { t.Skip("later") })
}

func TestFail(t *testing.T) {
	fmt.Println("printed by TestFail")
	if os.Getenv("SKIPPY_FAIL") == "1" {
		t.Error("failed on purpose")
	}
}
