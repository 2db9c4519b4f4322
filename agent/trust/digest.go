package trust

import (
	"fmt"
	"io"

	"aead.dev/minisign"
)

// Digest hashes a package as it streams, for a detached signature: minisign
// signs the BLAKE2b-512 of the file (its default, prehashed "ED" mode),
// which minisign.Reader computes over what is read through it. Digest feeds
// it what the download writes.
type Digest struct {
	r    *minisign.Reader
	feed feeder
	buf  []byte
	n    int64
}

// feeder hands one written slice to minisign.Reader's reads.
type feeder struct{ p []byte }

func (f *feeder) Read(b []byte) (int, error) {
	if len(f.p) == 0 {
		return 0, io.EOF
	}
	n := copy(b, f.p)
	f.p = f.p[n:]
	return n, nil
}

// NewDigest returns an empty Digest.
func NewDigest() *Digest {
	d := &Digest{buf: make([]byte, 32<<10)}
	d.Reset()
	return d
}

// Reset starts over (the download restarted from zero).
func (d *Digest) Reset() {
	d.feed = feeder{}
	d.r = minisign.NewReader(&d.feed)
	d.n = 0
}

// Write hashes p.
func (d *Digest) Write(p []byte) (int, error) {
	d.feed.p = p
	for len(d.feed.p) > 0 {
		if _, err := d.r.Read(d.buf); err != nil && err != io.EOF {
			return 0, err
		}
	}
	d.n += int64(len(p))
	return len(p), nil
}

// Size is the number of bytes hashed.
func (d *Digest) Size() int64 { return d.n }

// VerifyDigest checks a detached signature over the bytes written to d.
// Only prehashed signatures (minisign's default) can be checked this way;
// a legacy one (minisign -l) is refused with that reason.
func (k *Keys) VerifyDigest(d *Digest, sig []byte, carrier string) (Verified, error) {
	s, err := parse(sig, carrier)
	if err != nil {
		return Verified{}, err
	}
	if s.Algorithm != minisign.HashEdDSA {
		return Verified{}, fmt.Errorf("%w: %s is a legacy (minisign -l) signature; sign images with minisign's default prehashed mode", ErrBadSignature, carrier)
	}
	pk, err := k.key(s, carrier)
	if err != nil {
		return Verified{}, err
	}
	if !d.r.Verify(pk, sig) {
		return Verified{}, fmt.Errorf("%w: %s by key %s does not match the %d bytes downloaded (altered, or signed for another file)", ErrBadSignature, carrier, KeyID(pk.ID()), d.n)
	}
	return Verified{KeyID: KeyID(pk.ID()), TrustedComment: s.TrustedComment, Carrier: carrier}, nil
}
