package ymodemtest_test

import (
	"strings"
	"testing"
	"time"

	"ota-agent/flasher/ymodem/ymodemtest"
)

func TestParseFault(t *testing.T) {
	tests := []struct {
		in      string
		want    ymodemtest.Fault
		wantErr string
	}{
		{in: "drop-ack:3", want: ymodemtest.Fault{Kind: ymodemtest.DropACK, Block: 3}},
		{in: "stall:2:5s", want: ymodemtest.Fault{Kind: ymodemtest.Stall, Block: 2, Stall: 5 * time.Second}},
		{in: "Verify", want: ymodemtest.Fault{Kind: ymodemtest.Verify, Block: 1}},
		{in: "corrupt:0", want: ymodemtest.Fault{Kind: ymodemtest.Corrupt}},
		{in: "melt:1", wantErr: `kind "melt"`},
		{in: "nak:x", wantErr: `block "x"`},
		{in: "nak:1:5s", wantErr: "on a stall fault only"},
		{in: "stall:1:5s:9", wantErr: "kind[:block[:stall]]"},
	}
	for _, tt := range tests {
		got, err := ymodemtest.ParseFault(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseFault(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseFault(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	if _, err := ymodemtest.ParseMode("fast"); err == nil {
		t.Error(`ParseMode("fast") = nil error`)
	}
	if m, err := ymodemtest.ParseMode("strict"); err != nil || m != ymodemtest.Strict {
		t.Errorf(`ParseMode("strict") = %v, %v`, m, err)
	}
}

func FuzzParseFault(f *testing.F) {
	for _, s := range []string{"drop-ack:3", "stall:2:5s", "verify", "corrupt:0", "abort:4", "nak-eot", "drop:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ft, err := ymodemtest.ParseFault(s)
		if err != nil {
			return
		}
		again, err := ymodemtest.ParseFault(ft.String())
		if err != nil || again != ft {
			t.Fatalf("ParseFault(%q) = %+v; its String %q parses to %+v, %v", s, ft, ft.String(), again, err)
		}
	})
}
