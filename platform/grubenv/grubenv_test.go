package grubenv_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"ota-agent/internal/peertest"
	"ota-agent/platform/grubenv"
)

// capture was made with grub-editenv create, then set ORDER="A B" A_OK=1
// A_TRY=0 B_OK=1 B_TRY=0 'weird=a\b' and a value with a newline.
var captureVars = []grubenv.Var{
	{"ORDER", "A B"}, {"A_OK", "1"}, {"A_TRY", "0"}, {"B_OK", "1"}, {"B_TRY", "0"}, {"weird", `a\b`}, {"nl", "x\ny"},
}

func readCapture(t testing.TB) []byte {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "grubenv", "created.env"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseCapture(t *testing.T) {
	buf := readCapture(t)
	e, err := grubenv.Parse(buf)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(captureVars, e.Vars); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
	// Re-encoding keeps the warning comment and gives grub-editenv's bytes.
	again, err := e.Encode(len(buf))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, buf) {
		t.Errorf("Encode differs from grub-editenv's block:\n%q\nwant\n%q", again, buf)
	}
}

func TestParseBad(t *testing.T) {
	tests := []struct{ name, in string }{
		{"garbage", "garbage"},
		{"zeros", string(make([]byte, 1024))},
		{"no equals", grubenv.Signature + "novalue\n###"},
		{"no newline", grubenv.Signature + "a=b"},
		{"escaped newline at end", grubenv.Signature + "a=b\\\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := grubenv.Parse([]byte(tt.in)); !errors.Is(err, grubenv.ErrInvalid) {
				t.Errorf("Parse(%q) = %v, want ErrInvalid", tt.in, err)
			}
		})
	}
}

func TestEncodeTooSmall(t *testing.T) {
	e := &grubenv.Env{}
	e.Set("big", strings.Repeat("x", 1000))
	if _, err := e.Encode(1024); !errors.Is(err, grubenv.ErrTooSmall) {
		t.Errorf("Encode = %v, want ErrTooSmall", err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "grubenv")
	os.WriteFile(p, readCapture(t), 0o644)
	if err := grubenv.WriteFile(p, e); !errors.Is(err, grubenv.ErrTooSmall) {
		t.Errorf("WriteFile = %v, want ErrTooSmall", err)
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, readCapture(t)) {
		t.Error("a failed WriteFile changed the file")
	}
}

func TestEncodeBadName(t *testing.T) {
	for _, n := range []string{"", "a=b", "a\nb", "#a", `a\b`} {
		e := &grubenv.Env{Vars: []grubenv.Var{{n, "v"}}}
		if _, err := e.Encode(1024); err == nil {
			t.Errorf("Encode with name %q succeeded, want an error", n)
		}
	}
}

// grubEditenv runs the real grub-editenv.
func grubEditenv(t *testing.T, args ...string) string {
	t.Helper()
	return peertest.Run(t, "grub-editenv", "grub-common", args...)
}

// TestPeerGrubEditenv: grub-editenv list reads ours; we read its set/unset;
// our in-place rewrite keeps the size and the inode (GRUB's blocklist).
func TestPeerGrubEditenv(t *testing.T) {
	p := filepath.Join(t.TempDir(), "grubenv")
	grubEditenv(t, p, "create")
	fi0, _ := os.Stat(p)
	e, err := grubenv.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range captureVars {
		e.Set(v.Name, v.Value)
	}
	if err := grubenv.WriteFile(p, e); err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for _, v := range captureVars {
		want.WriteString(v.Name + "=" + v.Value + "\n")
	}
	if got := grubEditenv(t, p, "list"); got != want.String() {
		t.Errorf("grub-editenv list = %q, want %q", got, want.String())
	}
	fi1, _ := os.Stat(p)
	if !os.SameFile(fi0, fi1) || fi1.Size() != grubenv.DefaultSize {
		t.Errorf("rewrite moved or resized the file: size %d, same inode %v", fi1.Size(), os.SameFile(fi0, fi1))
	}
	grubEditenv(t, p, "set", "ORDER=B A", "new=1")
	grubEditenv(t, p, "unset", "A_TRY")
	e, err = grubenv.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	m := e.Map()
	if m["ORDER"] != "B A" || m["new"] != "1" || m["nl"] != "x\ny" || m["weird"] != `a\b` {
		t.Errorf("after grub-editenv set: %v", m)
	}
	if _, ok := m["A_TRY"]; ok {
		t.Error("A_TRY still set after grub-editenv unset")
	}
}

// TestPeerTooSmall: grub-editenv and we agree a block is full.
func TestPeerTooSmall(t *testing.T) {
	tool := peertest.Need(t, "grub-editenv", "grub-common")
	p := filepath.Join(t.TempDir(), "grubenv")
	grubEditenv(t, p, "create")
	big := strings.Repeat("x", 1000)
	out, err := exec.Command(tool, p, "set", "big="+big).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "environment block too small") {
		t.Fatalf("grub-editenv set big = %v %s, want environment block too small", err, out)
	}
	e, _ := grubenv.ReadFile(p)
	e.Set("big", big)
	if err := grubenv.WriteFile(p, e); !errors.Is(err, grubenv.ErrTooSmall) || !strings.Contains(err.Error(), "environment block too small") {
		t.Errorf("WriteFile = %v, want environment block too small", err)
	}
}

func TestWriteMissing(t *testing.T) {
	if err := grubenv.WriteFile(filepath.Join(t.TempDir(), "none"), &grubenv.Env{}); err == nil || !strings.Contains(err.Error(), "create") {
		t.Errorf("WriteFile(missing) = %v, want an error naming grub-editenv create", err)
	}
}

// FuzzParse parses arbitrary blocks; what parses re-encodes and parses to
// the same variables.
func FuzzParse(f *testing.F) {
	f.Add(readCapture(f))
	f.Add([]byte(grubenv.Signature + "a=b\\\\c\nd=e\\\nf\n#####"))
	f.Fuzz(func(t *testing.T, buf []byte) {
		e, err := grubenv.Parse(buf)
		if err != nil {
			return
		}
		again, err := e.Encode(len(buf) + 64)
		if err != nil {
			return // names GRUB tolerates but we refuse to write
		}
		e2, err := grubenv.Parse(again)
		if err != nil || len(e.Vars) != len(e2.Vars) || (len(e.Vars) > 0 && !cmp.Equal(e.Vars, e2.Vars)) {
			t.Fatalf("round trip: %q then %q: %v", e.Vars, e2.Vars, err)
		}
	})
}
