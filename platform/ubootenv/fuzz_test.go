package ubootenv_test

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ota-agent/platform/ubootenv"
)

// FuzzDecodeCopy decodes arbitrary copies; whatever decodes must re-encode
// and decode to the same variables.
func FuzzDecodeCopy(f *testing.F) {
	for _, name := range []string{"mk_single_00.bin", "mk_single_ff.bin", "mk_redund_00.bin", "mk_redund_ff.bin", "fw_setenv_single.bin"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "ubootenv", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:256], strings.Contains(name, "redund"))
	}
	small, _ := ubootenv.EncodeCopy(map[string]string{"a": "1", ".flags": "a:sw", "bootargs": "x=y z"}, 96, true, 0xff, 0xff)
	f.Add(small, true)
	f.Fuzz(func(t *testing.T, buf []byte, redundant bool) {
		c, err := ubootenv.DecodeCopy(buf, redundant)
		if err != nil {
			return
		}
		again, err := ubootenv.EncodeCopy(c.Vars, len(buf), redundant, c.Flag, 0)
		if err != nil {
			t.Fatalf("re-encode %v: %v", c.Vars, err)
		}
		c2, err := ubootenv.DecodeCopy(again, redundant)
		if err != nil || !maps.Equal(c.Vars, c2.Vars) || c2.Flag != c.Flag {
			t.Fatalf("round trip: %v %#x, then %v %#x, %v", c.Vars, c.Flag, c2.Vars, c2.Flag, err)
		}
	})
}

// FuzzParseConfig parses arbitrary fw_env.config text; a parsed config has
// one or two devices of equal size.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		"/boot/uboot.env 0x0 0x4000\n",
		"# c\n/dev/mmcblk0 -0x20000 0x20000 # x\n/dev/mmcblk0 -0x40000 0x20000\n",
		"/dev/mtd0 0x4000 0x4000 0x20000 2 1\n",
		"/dev/mmcblk0 010 4000\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cfg, err := ubootenv.ParseConfig(strings.NewReader(s))
		if err != nil {
			return
		}
		n := len(cfg.Devices)
		if n < 1 || n > 2 || cfg.Devices[0].Size != cfg.Devices[n-1].Size || cfg.Devices[0].Size <= 6 {
			t.Fatalf("ParseConfig(%q) = %+v", s, cfg)
		}
	})
}
