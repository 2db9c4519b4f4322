package config

import "ota-agent/agent/trust"

// DefaultSignatureSuffix is appended to an image URL to fetch its detached
// signature.
const DefaultSignatureSuffix = ".minisig"

// Security is [security] (SPEC §11): the minisign keys packages must be
// signed with.
type Security struct {
	PublicKeys     []string `toml:"public_keys"`      // minisign public keys, "RW…"
	PublicKeyFiles []string `toml:"public_key_files"` // minisign .pub files
	RevokedKeyIDs  []string `toml:"revoked_key_ids"`  // hex key IDs no longer trusted
	// RequireSignature refuses unsigned packages; unset, it is true as soon
	// as a key is configured.
	RequireSignature *bool  `toml:"require_signature"`
	SignatureSuffix  string `toml:"signature_suffix"` // detached signature URL suffix
}

// ParseKeys returns the configured keys (Load has checked they parse).
func (s Security) ParseKeys() (*trust.Keys, error) {
	return trust.ParseKeys(s.PublicKeys, s.PublicKeyFiles, s.RevokedKeyIDs)
}

// Required reports whether every package must be signed.
func (s Security) Required() bool {
	if s.RequireSignature != nil {
		return *s.RequireSignature
	}
	return len(s.PublicKeys)+len(s.PublicKeyFiles) > 0
}

func defaultSecurity() Security { return Security{SignatureSuffix: DefaultSignatureSuffix} }

func (l *loader) checkSecurity(c *Config) *Error {
	s := &c.Security
	keys, err := s.ParseKeys()
	switch {
	case err != nil:
		return l.at("security", "%v", err)
	case s.Required() && keys.Len() == 0:
		return l.at("security.require_signature", "is true but no key is configured; add security.public_keys or security.public_key_files")
	case s.SignatureSuffix == "" || len(s.SignatureSuffix) > 32:
		return l.at("security.signature_suffix", "%q is not allowed (use e.g. \".minisig\")", s.SignatureSuffix)
	}
	return nil
}
