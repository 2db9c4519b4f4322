package demo

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

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

// Part is one image of a package.
type Part struct {
	Component, Version string
	Data               []byte
}

// Pack returns a zip package of img for component at version; signed
// leaves out manifest.json.minisig (a forged release).
func (s *Signer) Pack(component, version string, img []byte, signed bool) ([]byte, error) {
	return s.PackSet([]Part{{component, version, img}}, signed)
}

// PackSet returns one zip package of several parts: one update (the
// manifest lists them in this order).
func (s *Signer) PackSet(parts []Part, signed bool) ([]byte, error) {
	var ims []string
	for _, p := range parts {
		sum := sha256.Sum256(p.Data)
		ims = append(ims, fmt.Sprintf(`{"component":%q,"version":%q,"file":"%s.img","sha256":%q,"size":%d}`,
			p.Component, p.Version, p.Component, hex.EncodeToString(sum[:]), len(p.Data)))
	}
	man := []byte(`{"images":[` + strings.Join(ims, ",") + `]}`)
	files := [][2][]byte{{[]byte("manifest.json"), man}}
	if signed {
		sig := minisign.SignWithComments(s.private, man, parts[0].Component+" "+parts[0].Version, "demo release key")
		files = append(files, [2][]byte{[]byte("manifest.json.minisig"), sig})
	}
	for _, p := range parts {
		files = append(files, [2][]byte{[]byte(p.Component + ".img"), p.Data})
	}
	return zipFiles(files)
}

func zipFiles(files [][2][]byte) ([]byte, error) {
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
