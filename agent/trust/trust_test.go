package trust_test

import (
	"bytes"
	"strings"
	"testing"

	"aead.dev/minisign"

	"ota-agent/agent/trust"
)

func TestParseKeysErrors(t *testing.T) {
	for _, tt := range []struct {
		keys, files, revoked []string
		want                 string
	}{
		{keys: []string{"RWnotakey"}, want: "public_keys[0]: not a minisign public key"},
		{files: []string{"/nonexistent.pub"}, want: "public_key_files: /nonexistent.pub"},
		{revoked: []string{"xyz"}, want: `revoked_key_ids: "xyz" is not a key ID`},
	} {
		if _, err := trust.ParseKeys(tt.keys, tt.files, tt.revoked); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseKeys(%v %v %v) = %v, want %q", tt.keys, tt.files, tt.revoked, err, tt.want)
		}
	}
}

func TestParseComment(t *testing.T) {
	f, err := trust.ParseComment("timestamp:1 component=rootfs version=2.0.0 file:x")
	if err != nil || f != (trust.Facts{Component: "rootfs", Version: "2.0.0"}) {
		t.Errorf("ParseComment = %+v, %v", f, err)
	}
	if _, err := trust.ParseComment("timestamp:1700000000\tfile:rootfs.img"); err == nil {
		t.Error("a comment naming no component and version was accepted")
	}
}

func keys(t testing.TB) (*trust.Keys, minisign.PrivateKey) {
	pub, sec, err := minisign.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	k, err := trust.ParseKeys([]string{pub.String()}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return k, sec
}

// FuzzVerify: no signature text makes Verify or VerifyDigest panic or
// accept a message it does not sign.
func FuzzVerify(f *testing.F) {
	k, sec := keys(f)
	msg := []byte("manifest")
	good := minisign.SignWithComments(sec, msg, "component=a version=1", "u")
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("untrusted comment: x\nRUQ\ntrusted comment: y\nzz\n"))
	f.Fuzz(func(t *testing.T, sig []byte) {
		if _, err := k.Verify([]byte("another message"), sig, "fuzz"); err == nil {
			t.Fatalf("signature %q verified a message it does not sign", sig)
		}
		d := trust.NewDigest()
		d.Write([]byte("another message"))
		if _, err := k.VerifyDigest(d, sig, "fuzz"); err == nil {
			t.Fatalf("signature %q verified a digest it does not sign", sig)
		}
		if bytes.Equal(sig, good) {
			if _, err := k.Verify(msg, sig, "fuzz"); err != nil {
				t.Fatalf("good signature refused: %v", err)
			}
		}
	})
}

func FuzzParseComment(f *testing.F) {
	f.Add("component=rootfs version=2.0.0")
	f.Add("component= version=")
	f.Fuzz(func(t *testing.T, c string) {
		if fa, err := trust.ParseComment(c); err == nil && (fa.Component == "" || fa.Version == "" || strings.ContainsAny(fa.Component+fa.Version, " \t\n")) {
			t.Fatalf("ParseComment(%q) = %+v", c, fa)
		}
	})
}
