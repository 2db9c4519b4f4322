package agent_test

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"aead.dev/minisign"

	"ota-agent/agent"
	"ota-agent/agent/state"
	"ota-agent/flasher/ab"
	"ota-agent/internal/peertest"
	"ota-agent/transport"
	"ota-agent/transport/akaso/akasotest"
)

// signer is a minisign key pair made by the real minisign CLI.
type signer struct {
	t        *testing.T
	dir      string
	pub, sec string
	key      string // the "RW…" line
	id       string // 16 hex digits
}

func newSigner(t *testing.T) *signer {
	t.Helper()
	peertest.Need(t, "minisign", "minisign")
	s := &signer{t: t, dir: t.TempDir()}
	s.pub, s.sec = filepath.Join(s.dir, "k.pub"), filepath.Join(s.dir, "k.sec")
	if out, err := exec.Command("minisign", "-G", "-W", "-p", s.pub, "-s", s.sec).CombinedOutput(); err != nil {
		t.Fatalf("minisign -G: %v: %s", err, out)
	}
	b, _ := os.ReadFile(s.pub)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	s.key = lines[len(lines)-1]
	s.id = lines[0][strings.LastIndex(lines[0], " ")+1:]
	return s
}

// sign signs data with the minisign CLI and the trusted comment given.
func (s *signer) sign(data []byte, trusted string) []byte {
	s.t.Helper()
	f := filepath.Join(s.dir, "msg")
	os.WriteFile(f, data, 0o600)
	if out, err := exec.Command("minisign", "-S", "-s", s.sec, "-m", f, "-t", trusted).CombinedOutput(); err != nil {
		s.t.Fatalf("minisign -S: %v: %s", err, out)
	}
	sig, err := os.ReadFile(f + ".minisig")
	if err != nil {
		s.t.Fatal(err)
	}
	return sig
}

// signedZip builds a zip with manifest.json (signed when sig) and the image.
func signedZip(t *testing.T, s *signer, component, version string, img []byte, tamper func(man []byte) []byte) []byte {
	man := []byte(fmt.Sprintf(`{"images":[{"component":%q,"version":%q,"file":"rootfs.img","sha256":%q}]}`, component, version, sha256hex(img)))
	sig := s.sign(man, "manifest")
	if tamper != nil {
		man = tamper(man)
	}
	return zipOf(t, [2]string{"manifest.json", string(man)}, [2]string{"manifest.json.minisig", string(sig)}, [2]string{"rootfs.img", string(img)})
}

func (r *abRig) trust(keys ...string) {
	r.cfg.Security.PublicKeys = keys
	r.cfg.Security.SignatureSuffix = ".minisig"
	r.open()
}

// offerSigned publishes pkg as version with sig beside it (nil: none).
func (r *abRig) offerSigned(version, name string, pkg, sig []byte) {
	if sig != nil {
		r.srv.AddFile(name+".minisig", sig)
	}
	r.offerPackage(version, name, pkg, md5hex(pkg))
}

// wantRefused runs an update and checks it is refused with want in the
// message and nothing armed.
func (r *abRig) wantRefused(want string) {
	r.t.Helper()
	before := r.vars()
	_, outs, err := r.ag.Update(r.t.Context(), agent.UpdateOptions{})
	if err == nil || !strings.Contains(err.Error(), want) {
		r.t.Fatalf("Update = %v, want a refusal containing %q", err, want)
	}
	if len(outs) != 1 || outs[0].Phase != "failed" {
		r.t.Errorf("outcome = %+v, want failed", outs)
	}
	if after := r.vars(); after[ab.VarBootOrder] != before[ab.VarBootOrder] {
		r.t.Errorf("slot armed by a refused package: BOOT_ORDER %q → %q", before[ab.VarBootOrder], after[ab.VarBootOrder])
	}
}

func (r *abRig) wantArmed() *state.Component {
	r.t.Helper()
	_, outs, err := r.ag.Update(r.t.Context(), agent.UpdateOptions{})
	if err != nil || len(outs) != 1 || outs[0].Phase != "rebooting" {
		r.t.Fatalf("Update = %+v, %v; want armed", outs, err)
	}
	return r.comp()
}

// TestSignedDetachedByMinisignCLI: an image signed by the real minisign CLI
// (detached, fetched from URL.minisig) is verified and armed; the proof
// names the key.
func TestSignedDetachedByMinisignCLI(t *testing.T) {
	s := newSigner(t)
	img := fixture(t, "rootfs.img")
	for _, name := range []string{"rootfs.img", "rootfs.img.gz"} {
		t.Run(name, func(t *testing.T) {
			r := newABRig(t, "rauc", [][]string{{"true"}})
			r.trust(s.key)
			pkg := fixture(t, name)
			r.offerSigned("2.0.0", name, pkg, s.sign(pkg, "component=rootfs version=2.0.0"))
			c := r.wantArmed()
			if !strings.Contains(c.Proof, "minisign signature by key "+s.id) {
				t.Errorf("proof = %q, want the key %s named", c.Proof, s.id)
			}
			if !bytes.Equal(r.slot("B")[:len(img)], img) {
				t.Error("slot B does not hold the image")
			}
		})
	}
}

// TestSignedManifest: a zip whose manifest is signed installs; the
// signature is checked before any image byte is written.
func TestSignedManifest(t *testing.T) {
	s := newSigner(t)
	img := fixture(t, "rootfs.img")
	r := newABRig(t, "rauc", [][]string{{"true"}})
	r.trust(s.key)
	r.offerSigned("2.0.0", "pkg.zip", signedZip(t, s, "rootfs", "2.0.0", img, nil), nil)
	if c := r.wantArmed(); !strings.Contains(c.Proof, "manifest.json.minisig") {
		t.Errorf("proof = %q", c.Proof)
	}
}

// TestSignedAttacks: each attack on a signed update is refused with its
// reason, and nothing is armed.
func TestSignedAttacks(t *testing.T) {
	s, other := newSigner(t), newSigner(t)
	img := fixture(t, "rootfs.img")
	good := s.sign(img, "component=rootfs version=2.0.0")
	flip := func(b []byte, i int) []byte { c := bytes.Clone(b); c[i] ^= 1; return c }
	cases := []struct {
		name       string
		keys       []string
		revoked    []string
		pkg, sig   []byte
		version    string
		want       string
		setHighest string
	}{
		{name: "wrong key", keys: []string{s.key}, pkg: img, sig: other.sign(img, "component=rootfs version=2.0.0"), want: "not among the trusted keys"},
		{name: "revoked key", keys: []string{s.key}, revoked: []string{s.id}, pkg: img, sig: good, want: "which is revoked"},
		{name: "truncated signature", keys: []string{s.key}, pkg: img, sig: good[:len(good)/2], want: "not a minisign signature"},
		{name: "garbled signature", keys: []string{s.key}, pkg: img, sig: []byte("untrusted comment: x\nnot base64!\n"), want: "not a minisign signature"},
		{name: "image byte changed", keys: []string{s.key}, pkg: flip(img, 5000), sig: good, want: "does not match the 64000 bytes downloaded"},
		{name: "trusted comment changed", keys: []string{s.key}, pkg: img, sig: bytes.Replace(good, []byte("version=2.0.0"), []byte("version=2.0.1"), 1), version: "2.0.1", want: "does not match"},
		{name: "another component", keys: []string{s.key}, pkg: img, sig: s.sign(img, "component=mcu version=2.0.0"), want: `signature is for component "mcu", not rootfs`},
		{name: "old release replayed as new", keys: []string{s.key}, pkg: img, sig: s.sign(img, "component=rootfs version=1.5.0"), version: "3.0.0", want: `the offer says version "3.0.0", the signature says "1.5.0"`},
		{name: "downgrade below highest", keys: []string{s.key}, pkg: img, sig: s.sign(img, "component=rootfs version=1.5.0"), version: "1.5.0", setHighest: "2.0.0", want: "older than 2.0.0, the highest installed"},
		{name: "unsigned", keys: []string{s.key}, pkg: img, want: "package is not signed"},
		{name: "manifest byte changed", keys: []string{s.key}, pkg: signedZip(t, s, "rootfs", "2.0.0", img, func(m []byte) []byte { return bytes.Replace(m, []byte("2.0.0"), []byte("2.0.9"), 1) }), want: "does not match the signed data"},
		{name: "image swapped into signed manifest", keys: []string{s.key}, pkg: swapImage(t, signedZip(t, s, "rootfs", "2.0.0", img, nil), flip(img, 10)), want: "sha256 mismatch"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			r := newABRig(t, "rauc", [][]string{{"true"}})
			r.cfg.Security.RevokedKeyIDs = tt.revoked
			r.trust(tt.keys...)
			if tt.setHighest != "" {
				st, _ := r.store.Read()
				st.Component("rootfs").Highest = tt.setHighest
				r.store.Save(st)
				r.open()
			}
			v := tt.version
			if v == "" {
				v = "2.0.0"
			}
			name := "rootfs.img"
			if bytes.HasPrefix(tt.pkg, []byte("PK")) {
				name = "pkg.zip"
			}
			r.offerSigned(v, name, tt.pkg, tt.sig)
			slotB := r.slot("B")
			r.wantRefused(tt.want)
			if tt.name == "manifest byte changed" && !bytes.Equal(r.slot("B"), slotB) {
				t.Error("slot B written before the manifest's signature was checked")
			}
		})
	}
}

// swapImage rebuilds a signed zip with another image under the same name.
func swapImage(t *testing.T, zipped, img []byte) []byte {
	t.Helper()
	files := unzipAll(t, zipped)
	return zipOf(t, [2]string{"manifest.json", files["manifest.json"]}, [2]string{"manifest.json.minisig", files["manifest.json.minisig"]}, [2]string{"rootfs.img", string(img)})
}

// TestSignedKeyRotation: with the old and the new key both trusted, a
// package signed by either installs.
func TestSignedKeyRotation(t *testing.T) {
	old, cur := newSigner(t), newSigner(t)
	img := fixture(t, "rootfs.img")
	for _, s := range []*signer{old, cur} {
		r := newABRig(t, "rauc", [][]string{{"true"}})
		r.trust(old.key, cur.key)
		r.offerSigned("2.0.0", "rootfs.img", img, s.sign(img, "component=rootfs version=2.0.0"))
		if c := r.wantArmed(); !strings.Contains(c.Proof, s.id) {
			t.Errorf("proof = %q, want key %s", c.Proof, s.id)
		}
	}
}

// TestSignedByHandAndVerifiedByCLI: a signature made with aead.dev/minisign
// (as a build server in Go would) verifies with the real `minisign -V`,
// and `install --signature`-style offers carry it by hand.
func TestSignedByHandAndVerifiedByCLI(t *testing.T) {
	peertest.Need(t, "minisign", "minisign")
	pub, sec, err := minisign.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	img := fixture(t, "rootfs.img")
	rd := minisign.NewReader(bytes.NewReader(img))
	if _, err := rd.Read(make([]byte, len(img)+1)); err != nil {
		t.Fatal(err)
	}
	sig := rd.SignWithComments(sec, "component=rootfs version=2.0.0", "made in Go")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "rootfs.img"), img, 0o600)
	os.WriteFile(filepath.Join(dir, "rootfs.img.minisig"), sig, 0o600)
	if out, err := exec.Command("minisign", "-V", "-P", pub.String(), "-m", filepath.Join(dir, "rootfs.img")).CombinedOutput(); err != nil {
		t.Fatalf("minisign -V: %v: %s", err, out)
	}
	r := newABRig(t, "rauc", [][]string{{"true"}})
	r.trust(pub.String())
	of := transport.Offer{Component: "rootfs", Version: "manual-x", VersionFromPackage: true, URL: r.srv.AddFile("by-hand.img", img), MD5: md5hex(img), Signature: sig}
	out := r.ag.Install(t.Context(), of)
	if out.Err != nil || out.Phase != "rebooting" {
		t.Fatalf("Install = %+v", out)
	}
	if c := r.comp(); c.TargetVersion != "2.0.0" {
		t.Errorf("target version = %q, want the signed 2.0.0", c.TargetVersion)
	}
}

var _ = akasotest.FilePrefix

func unzipAll(t *testing.T, b []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		c, _ := io.ReadAll(rc)
		rc.Close()
		out[f.Name] = string(c)
	}
	return out
}
