package aliyuntest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// presign returns an OSS-style URL for fw that expires after URLTTL:
// /ota/<productKey>/<id>/<name>.bin?Expires=…&OSSAccessKeyId=…&Signature=…
// Called with s.mu held.
func (s *Server) presign(fw Firmware) string {
	pk := fw.ProductKey
	if pk == "" {
		pk = "_"
	}
	path := "/ota/" + url.PathEscape(pk) + "/" + url.PathEscape(fw.ID) + "/" + url.PathEscape(fw.Name+".bin")
	exp := strconv.FormatInt(s.cfg.Now().Add(s.cfg.URLTTL).Unix(), 10)
	return s.URL + path + "?Expires=" + exp + "&OSSAccessKeyId=" + url.QueryEscape(s.cfg.AccessKeyID) +
		"&Signature=" + url.QueryEscape(s.ossSign(path, exp))
}

// ossSign is OSS's V1 URL signature over the method, expiry and resource.
func (s *Server) ossSign(path, exp string) string {
	m := hmac.New(sha1.New, []byte(s.cfg.AccessKeySecret))
	fmt.Fprintf(m, "GET\n\n\n%s\n%s", exp, path)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// ossError answers like OSS: an XML body.
func ossError(w http.ResponseWriter, status int, code, msg string) (int, string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>%s</Code>\n  <Message>%s</Message>\n</Error>\n", code, msg)
	return status, code
}

// serveFile serves a presigned URL: 403 once it expired or when its
// signature does not match the path as requested, else the data with Range
// support.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) (int, string) {
	q := r.URL.Query()
	exp, err := strconv.ParseInt(q.Get("Expires"), 10, 64)
	if err != nil || q.Get("Signature") == "" {
		return ossError(w, http.StatusForbidden, "AccessDenied", "Anonymous access is forbidden for this operation.")
	}
	path := r.URL.EscapedPath()
	if !hmac.Equal([]byte(q.Get("Signature")), []byte(s.ossSign(path, q.Get("Expires")))) {
		return ossError(w, http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
	}
	if s.cfg.Now().Unix() > exp {
		return ossError(w, http.StatusForbidden, "AccessDenied", "Request has expired.")
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/ota/"), "/")
	s.mu.Lock()
	var data []byte
	var found bool
	for _, fw := range s.fws {
		if len(parts) == 3 && fw.ID == parts[1] {
			data, found = fw.Data, true
		}
	}
	s.mu.Unlock()
	if !found {
		return ossError(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	http.ServeContent(sw, r, parts[2], time.Unix(1700000000, 0), bytes.NewReader(data))
	return sw.status, ""
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}
