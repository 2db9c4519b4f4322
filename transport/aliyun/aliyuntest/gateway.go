package aliyuntest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// gatewayError is a POP gateway refusal: {"RequestId","HostId","Code","Message","Recommend"}.
type gatewayError struct {
	status int
	code   string
	msg    string
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, p map[string]string) (int, string) {
	if e := s.gateway(r, p); e != nil {
		writeJSON(w, e.status, map[string]string{"RequestId": requestID(), "HostId": r.Host, "Code": e.code,
			"Message": e.msg, "Recommend": "https://api.aliyun.com/troubleshoot?q=" + e.code})
		return e.status, e.code
	}
	if s.dropped(w, p["Action"]) {
		return 0, "dropped"
	}
	s.mu.Lock()
	q := s.queue[p["Action"]]
	if len(q) > 0 {
		s.queue[p["Action"]] = q[1:]
	}
	s.mu.Unlock()
	if len(q) > 0 {
		for k, v := range q[0].Header {
			w.Header()[k] = v
		}
		status := q[0].Status
		if status == 0 {
			status = http.StatusOK
		}
		writeJSON(w, status, q[0].Body)
		return status, ""
	}
	var ans map[string]any
	switch p["Action"] {
	case "ListOTAFirmware":
		ans = s.list(p)
	case "QueryOTAFirmware":
		ans = s.query(p)
	}
	code, _ := ans["Code"].(string)
	if s.cfg.CamelCase {
		writeJSON(w, http.StatusOK, camel(ans))
	} else {
		writeJSON(w, http.StatusOK, ans)
	}
	return http.StatusOK, code
}

// dropped closes the connection without an answer when DropNext asked.
func (s *Server) dropped(w http.ResponseWriter, action string) bool {
	s.mu.Lock()
	drop := s.drop[action] > 0
	if drop {
		s.drop[action]--
	}
	s.mu.Unlock()
	if !drop {
		return false
	}
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return true
		}
	}
	panic(http.ErrAbortHandler)
}

// gateway runs the checks of the POP gateway, in its order.
func (s *Server) gateway(r *http.Request, p map[string]string) *gatewayError {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return &gatewayError{400, "UnsupportedHTTPMethod", "This http method is not supported."}
	}
	for _, name := range []string{"Action", "AccessKeyId", "Signature", "SignatureMethod", "SignatureNonce", "SignatureVersion", "Timestamp", "Version"} {
		if p[name] == "" {
			return &gatewayError{400, "Missing" + name, fmt.Sprintf("%s is mandatory for this action.", name)}
		}
	}
	if p["Action"] != "ListOTAFirmware" && p["Action"] != "QueryOTAFirmware" {
		return &gatewayError{404, "InvalidAction.NotFound", fmt.Sprintf("Specified api %s is not found, please check your url and method.", p["Action"])}
	}
	if p["Format"] != "JSON" {
		return &gatewayError{400, "InvalidParameter.Format", "this fake answers only Format=JSON (the real default is XML)"}
	}
	if p["SignatureMethod"] != "HMAC-SHA1" || p["SignatureVersion"] != "1.0" {
		return &gatewayError{400, "IncompleteSignature", "SignatureMethod must be HMAC-SHA1 and SignatureVersion 1.0."}
	}
	t, err := time.Parse("2006-01-02T15:04:05Z", p["Timestamp"])
	if err != nil {
		return &gatewayError{400, "InvalidTimeStamp.Format", fmt.Sprintf("Specified time stamp or date value %q is not well formatted.", p["Timestamp"])}
	}
	if d := s.cfg.Now().Sub(t); d > s.cfg.Skew || d < -s.cfg.Skew {
		return &gatewayError{400, "InvalidTimeStamp.Expired", fmt.Sprintf("Specified time stamp or date value is expired (%s off).", d.Round(time.Second))}
	}
	if p["AccessKeyId"] != s.cfg.AccessKeyID {
		return &gatewayError{400, "InvalidAccessKeyId.NotFound", "Specified access key is not found."}
	}
	s.mu.Lock()
	used := s.nonces[p["SignatureNonce"]]
	s.nonces[p["SignatureNonce"]] = true
	s.mu.Unlock()
	if used {
		return &gatewayError{400, "SignatureNonceUsed", "Specified signature nonce was used already."}
	}
	sts := stringToSign(r.Method, p)
	if p["Signature"] != signature(sts, s.cfg.AccessKeySecret) {
		return &gatewayError{400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation. server string to sign is:" + sts}
	}
	return nil
}

// encode is RFC 3986 percent-encoding with upper-case hex, written out
// byte by byte (the client uses url.QueryEscape; two implementations catch
// each other's slips).
func encode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func stringToSign(method string, p map[string]string) string {
	names := make([]string, 0, len(p))
	for k := range p {
		if k != "Signature" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = encode(k) + "=" + encode(p[k])
	}
	return method + "&%2F&" + encode(strings.Join(parts, "&"))
}

func signature(sts, secret string) string {
	m := hmac.New(sha1.New, []byte(secret+"&"))
	m.Write([]byte(sts))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
