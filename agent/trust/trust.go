// Package trust verifies minisign (ed25519) signatures of update packages
// (SPEC §11) and reads the facts they sign: which component and version a
// package is. The vendor APIs give at most an MD5 that anyone on the path
// or in the vendor console can forge; a signature made with a key the
// device trusts cannot be.
//
// Two carriers are supported: manifest.json.minisig inside a zip, signing
// the manifest (which lists each image's component, version and SHA-256),
// and a detached signature over a raw or compressed image, whose trusted
// comment names the component and version ("component=rootfs
// version=2.0.0"). Nothing here depends on the wall clock: a camera without
// an RTC boots in 1970.
package trust

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"aead.dev/minisign"
)

// Errors callers test for.
var (
	// ErrUnsigned means a signature is required and the package has none.
	ErrUnsigned = errors.New("package is not signed")
	// ErrBadSignature means a signature did not verify.
	ErrBadSignature = errors.New("signature does not verify")
)

// MaxSignature is the largest signature file accepted (a minisign
// signature is about 300 bytes; the rest is comments).
const MaxSignature = 4 << 10

// Keys are the public keys a device trusts, less the revoked ones.
type Keys struct {
	keys    []minisign.PublicKey
	revoked map[uint64]bool
}

// ParseKeys parses minisign public keys given as strings ("RW…", or the
// two-line .pub file content) and as .pub files, and hex key IDs that are
// revoked. Each bad value is an error naming it.
func ParseKeys(keys, files, revoked []string) (*Keys, error) {
	k := &Keys{revoked: map[uint64]bool{}}
	for i, s := range keys {
		var pk minisign.PublicKey
		if err := pk.UnmarshalText([]byte(lastLine(s))); err != nil {
			return nil, fmt.Errorf("public_keys[%d]: not a minisign public key (want \"RW…\" as minisign -G prints it): %v", i, err)
		}
		k.keys = append(k.keys, pk)
	}
	for _, f := range files {
		pk, err := minisign.PublicKeyFromFile(f)
		if err != nil {
			return nil, fmt.Errorf("public_key_files: %s: %v (want a minisign .pub file)", f, err)
		}
		k.keys = append(k.keys, pk)
	}
	for _, s := range revoked {
		id, err := ParseKeyID(s)
		if err != nil {
			return nil, fmt.Errorf("revoked_key_ids: %w", err)
		}
		k.revoked[id] = true
	}
	return k, nil
}

// lastLine returns the last non-empty line of s: a .pub file's content
// pasted whole carries an untrusted comment line first.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// ParseKeyID parses a key ID as minisign prints it: up to 16 hex digits.
func ParseKeyID(s string) (uint64, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "0x")
	id, err := strconv.ParseUint(t, 16, 64)
	if err != nil || len(t) > 16 {
		return 0, fmt.Errorf("%q is not a key ID (up to 16 hex digits, as minisign prints it)", s)
	}
	return id, nil
}

// KeyID formats id as minisign prints it: upper-case hex, no leading zeros.
func KeyID(id uint64) string { return fmt.Sprintf("%X", id) }

// Len is the number of keys trusted (revoked ones included).
func (k *Keys) Len() int {
	if k == nil {
		return 0
	}
	return len(k.keys)
}

// IDs returns the trusted key IDs, each marked when revoked.
func (k *Keys) IDs() []string {
	var out []string
	for _, pk := range k.keys {
		s := KeyID(pk.ID())
		if k.revoked[pk.ID()] {
			s += " (revoked)"
		}
		out = append(out, s)
	}
	return out
}

// key returns the trusted, unrevoked key that made sig.
func (k *Keys) key(sig minisign.Signature, carrier string) (minisign.PublicKey, error) {
	id := sig.KeyID
	if k.revoked[id] {
		return minisign.PublicKey{}, fmt.Errorf("%w: %s is signed by key %s, which is revoked (security.revoked_key_ids)", ErrBadSignature, carrier, KeyID(id))
	}
	for _, pk := range k.keys {
		if pk.ID() == id {
			return pk, nil
		}
	}
	return minisign.PublicKey{}, fmt.Errorf("%w: %s is signed by key %s, which is not among the trusted keys %v (security.public_keys)", ErrBadSignature, carrier, KeyID(id), k.IDs())
}

// parse decodes a signature file's text.
func parse(sig []byte, carrier string) (minisign.Signature, error) {
	var s minisign.Signature
	if len(sig) > MaxSignature {
		return s, fmt.Errorf("%w: %s is %d bytes, a signature is at most %d", ErrBadSignature, carrier, len(sig), MaxSignature)
	}
	if err := s.UnmarshalText(sig); err != nil {
		return s, fmt.Errorf("%w: %s is not a minisign signature: %v", ErrBadSignature, carrier, err)
	}
	return s, nil
}

// Verified is a signature that verified.
type Verified struct {
	KeyID          string
	TrustedComment string
	Carrier        string // what carried it, for messages
}

// Verify checks sig (a minisign signature file's text) over msg, held in
// memory: for a manifest. carrier names the signature in errors.
func (k *Keys) Verify(msg, sig []byte, carrier string) (Verified, error) {
	s, err := parse(sig, carrier)
	if err != nil {
		return Verified{}, err
	}
	pk, err := k.key(s, carrier)
	if err != nil {
		return Verified{}, err
	}
	if !minisign.Verify(pk, msg, sig) {
		return Verified{}, fmt.Errorf("%w: %s by key %s does not match the signed data (altered, or signed for something else)", ErrBadSignature, carrier, KeyID(pk.ID()))
	}
	return Verified{KeyID: KeyID(pk.ID()), TrustedComment: s.TrustedComment, Carrier: carrier}, nil
}

// ReadSignature reads a signature file given by hand (install --signature).
func ReadSignature(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	if st.Size() > MaxSignature {
		return nil, fmt.Errorf("signature %s is %d bytes, a minisign signature is at most %d", path, st.Size(), MaxSignature)
	}
	return os.ReadFile(path)
}
