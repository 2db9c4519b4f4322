package agent

import (
	"testing"

	"ota-agent/agent/state"
)

func TestNextStep(t *testing.T) {
	tests := []struct {
		phase state.Phase
		want  step
	}{
		{"", stepNone},
		{state.Idle, stepNone},
		{state.Failed, stepNone},
		{state.Downloading, stepRetry},
		{state.Verifying, stepRetry},
		{state.Installing, stepDisarm},
		{state.Rebooting, stepResolve},
		{state.Committing, stepResolve},
	}
	for _, tt := range tests {
		if got := nextStep(tt.phase); got != tt.want {
			t.Errorf("nextStep(%q) = %d, want %d", tt.phase, got, tt.want)
		}
	}
}
