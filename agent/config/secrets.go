package config

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxSecret bounds a secret file: a token or key is a few dozen bytes.
const maxSecret = 64 << 10

// readSecrets reads the *_file keys of the configured API into their
// toml:"-" fields. Relative paths are taken from the configuration file's
// directory and stored back absolute.
func (l *loader) readSecrets(c *Config) error {
	var key string
	var path *string
	var dst *string
	switch c.Server.API {
	case "mxchip":
		key, path, dst = "server.mxchip.token_file", &c.Server.MXChip.TokenFile, &c.Server.MXChip.Token
	case "upgradelink":
		key, path, dst = "server.upgradelink.secret_key_file", &c.Server.UpgradeLink.SecretKeyFile, &c.Server.UpgradeLink.SecretKey
	case "aliyun":
		key, path, dst = "server.aliyun.access_key_secret_file", &c.Server.Aliyun.AccessKeySecretFile, &c.Server.Aliyun.AccessKeySecret
	case "hawkbit":
		key, path, dst = hawkbitSecret(c)
	default:
		return nil
	}
	*path = l.abs(*path)
	s, err := l.readSecret(key, *path)
	if err != nil {
		return err
	}
	*dst = s
	return nil
}

// abs resolves p against the directory of the configuration file.
func (l *loader) abs(p string) string {
	if p == "" || filepath.IsAbs(p) || l.file == "" {
		return p
	}
	return filepath.Join(filepath.Dir(l.file), p)
}

// statFile checks that the file at path exists and is a regular file; a
// file whose key names a secret must not be world-readable.
func (l *loader) statFile(key, path string) (fs.FileInfo, *Error) {
	fi, err := os.Stat(l.abs(path))
	if err != nil {
		return nil, &Error{File: l.file, Line: l.src.line(key), Key: key, Err: err,
			Msg: fmt.Sprintf("cannot use %s: %v (check the path)", path, unwrapPath(err))}
	}
	if !fi.Mode().IsRegular() {
		return nil, l.at(key, "%s is a %s, want a regular file", path, fi.Mode().Type())
	}
	secret := strings.HasSuffix(key, "_key") || strings.HasSuffix(key, "secret_file") || strings.HasSuffix(key, "token_file") || strings.HasSuffix(key, "secret_key_file")
	if secret && fi.Mode().Perm()&0o004 != 0 {
		return nil, &Error{File: l.file, Line: l.src.line(key), Key: key, Err: ErrWorldReadable,
			Msg: fmt.Sprintf("%s has mode %04o and any user can read it (run: chmod 600 %s)", path, fi.Mode().Perm(), path)}
	}
	return fi, nil
}

// readSecret reads and trims the secret in the file at path.
func (l *loader) readSecret(key, path string) (string, error) {
	fi, e := l.statFile(key, path)
	if e != nil {
		return "", e
	}
	if fi.Size() > maxSecret {
		return "", l.at(key, "%s is %d bytes, too large for a secret (want the key alone)", path, fi.Size())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", &Error{File: l.file, Line: l.src.line(key), Key: key, Err: err,
			Msg: fmt.Sprintf("cannot read %s: %v (the agent runs as root; check the file)", path, unwrapPath(err))}
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", l.at(key, "%s is empty (write the secret into it)", path)
	}
	return s, nil
}

// unwrapPath drops the *fs.PathError wrapper, whose text repeats the path.
func unwrapPath(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}
