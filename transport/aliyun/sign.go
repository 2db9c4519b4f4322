package aliyun

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"sort"
	"strings"
)

// PercentEncode is the POP RFC 3986 encoding: A–Z a–z 0–9 - _ . ~ stay, every
// other UTF-8 byte becomes %XY in upper-case hex (space is %20, * is %2A).
// E.g. PercentEncode("a b*c~d") = "a%20b%2Ac~d".
func PercentEncode(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// CanonicalQuery encodes each name and value, sorts by encoded name in byte
// order and joins name=value pairs with &. Signature, if present, is left out.
func CanonicalQuery(params map[string]string) string {
	type pair struct{ k, v string }
	pairs := make([]pair, 0, len(params))
	for k, v := range params {
		if k != "Signature" {
			pairs = append(pairs, pair{PercentEncode(k), PercentEncode(v)})
		}
	}
	// By name alone: sorting "k=v" strings would put "Foo1=" before "Foo=".
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].k < pairs[j].k })
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k + "=" + p.v)
	}
	return b.String()
}

// StringToSign is method&%2F&percentEncode(CanonicalQuery(params)).
func StringToSign(method string, params map[string]string) string {
	return method + "&" + PercentEncode("/") + "&" + PercentEncode(CanonicalQuery(params))
}

// Sign returns the POP RPC v1 signature: standard base64 of HMAC-SHA1 keyed
// with secret+"&" over StringToSign. E.g. POP-1 of seed-apis.md §5.2 gives
// OLeaidS1JvxuMvnyHOwuJ+uX5qY=.
func Sign(method string, params map[string]string, secret string) string {
	m := hmac.New(sha1.New, []byte(secret+"&"))
	m.Write([]byte(StringToSign(method, params)))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// newNonce returns 32 random hex digits, unique per request.
func newNonce() string {
	var b [16]byte
	rand.Read(b[:]) // never returns an error (crypto/rand since Go 1.24)
	return hex.EncodeToString(b[:])
}
