package demo

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"aead.dev/minisign"
)

// Signer is the demo vendor's release key: it packs each image into a zip
// whose manifest.json is signed (manifest.json.minisig), as the README's
// signing guide does with the minisign CLI.
type Signer struct {
	Public  minisign.PublicKey
	private minisign.PrivateKey
}

// NewSigner makes a fresh key pair.
func NewSigner() (*Signer, error) {
	pub, sec, err := minisign.GenerateKey(nil)
	if err != nil {
		return nil, fmt.Errorf("demo: generate a minisign key: %w", err)
	}
	return &Signer{Public: pub, private: sec}, nil
}

// KeyID is the key's ID as minisign prints it.
func (s *Signer) KeyID() string { return fmt.Sprintf("%X", s.Public.ID()) }

// Pack returns a zip package of img for component at version; signed
// leaves out manifest.json.minisig (a forged release).
func (s *Signer) Pack(component, version string, img []byte, signed bool) ([]byte, error) {
	sum := sha256.Sum256(img)
	man := fmt.Appendf(nil, `{"images":[{"component":%q,"version":%q,"file":"%s.img","sha256":%q,"size":%d}]}`,
		component, version, component, hex.EncodeToString(sum[:]), len(img))
	files := [][2][]byte{{[]byte("manifest.json"), man}}
	if signed {
		sig := minisign.SignWithComments(s.private, man, component+" "+version, "demo release key")
		files = append(files, [2][]byte{[]byte("manifest.json.minisig"), sig})
	}
	files = append(files, [2][]byte{[]byte(component + ".img"), img})
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, f := range files {
		fw, err := w.CreateHeader(&zip.FileHeader{Name: string(f[0]), Method: zip.Deflate})
		if err != nil {
			return nil, err
		}
		if _, err := fw.Write(f[1]); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
