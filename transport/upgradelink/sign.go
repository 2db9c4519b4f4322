package upgradelink

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
)

// SignString returns the string UpgradeLink signs (seed-apis.md §3.2):
//
//	body=<body>&nonce=<nonce>&secretKey=<secret>&timestamp=<ts>&url=<uri>
//
// with the body part left out when body is empty (the SDK's rule; every call
// this client makes has a body). Nothing is escaped: values go in raw.
func SignString(secret string, body []byte, nonce, timestamp, uri string) string {
	s := ""
	if len(body) > 0 {
		s = "body=" + string(body) + "&"
	}
	return s + "nonce=" + nonce + "&secretKey=" + secret + "&timestamp=" + timestamp + "&url=" + uri
}

// Sign returns the X-Signature for one request: the lower-case hex MD5 of
// SignString. E.g. UL-4 of seed-apis.md §5.1 gives
// c678336c5d71682095840b513335c94d.
func Sign(secret string, body []byte, nonce, timestamp, uri string) string {
	sum := md5.Sum([]byte(SignString(secret, body, nonce, timestamp, uri)))
	return hex.EncodeToString(sum[:])
}

// newNonce returns 16 lower-case hex digits from the system's random source,
// the SDK's own format (the server wants at least 16 characters).
func newNonce() string {
	var b [8]byte
	rand.Read(b[:]) // never returns an error (crypto/rand since Go 1.24)
	return hex.EncodeToString(b[:])
}
