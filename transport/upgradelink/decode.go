package upgradelink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"ota-agent/transport"
)

// envelope is every UpgradeLink answer: {"code","msg","docs","data","traceId"}.
type envelope struct {
	Code    int64           `json:"code"`
	Msg     string          `json:"msg"`
	Docs    string          `json:"docs"`
	Data    json.RawMessage `json:"data"`
	TraceID string          `json:"traceId"`
}

// message is the server's text for an error: msg, then docs and traceId.
func (e *envelope) message() string {
	s := strings.TrimSpace(e.Msg)
	if d := strings.TrimSpace(e.Docs); d != "" {
		s += " (" + d + ")"
	}
	if e.TraceID != "" {
		s += " [traceId " + e.TraceID + "]"
	}
	return s
}

// Strategy is the data of a code-200 upgrade answer. One struct reads every
// kind: each sends its own key field and a subset of the rest.
type Strategy struct {
	ConfigurationKey     string          `json:"configurationKey,omitempty"`
	FileKey              string          `json:"fileKey,omitempty"`
	URLKey               string          `json:"urlKey,omitempty"`
	LnxKey               string          `json:"lnxKey,omitempty"`
	PackageName          string          `json:"packageName,omitempty"`
	VersionName          string          `json:"versionName"`
	VersionCode          int64           `json:"versionCode"`
	UpgradeType          int64           `json:"upgradeType"`
	PromptUpgradeContent string          `json:"promptUpgradeContent"`
	Content              json.RawMessage `json:"content,omitempty"` // configuration: a JSON object (the docs say string)
	URLPath              string          `json:"urlPath,omitempty"`
	URLFileSize          int64           `json:"urlFileSize,omitempty"`
	URLFileMd5           string          `json:"urlFileMd5,omitempty"`
}

// decodeEnvelope parses an answer body. The error says what was wrong with
// it, quoting its start.
func decodeEnvelope(raw []byte) (*envelope, error) {
	t := bytes.TrimSpace(raw)
	switch {
	case len(t) == 0:
		return nil, errors.New("empty answer, want a JSON object")
	case t[0] == '<':
		return nil, fmt.Errorf("answer is HTML or XML, not JSON (a proxy or captive portal?): %s", transport.Snippet(t))
	case t[0] != '{':
		return nil, fmt.Errorf("answer is not a JSON object: %s", transport.Snippet(t))
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(t, &probe); err != nil {
		return nil, fmt.Errorf("answer is not valid JSON (%v): %s", err, transport.Snippet(t))
	}
	if _, ok := probe["code"]; !ok {
		return nil, fmt.Errorf("answer has no \"code\" field: %s", transport.Snippet(t))
	}
	var env envelope
	if err := json.Unmarshal(t, &env); err != nil {
		return nil, fmt.Errorf("answer: %s", typeError(err))
	}
	return &env, nil
}

// decodeStrategy parses the data of a code-200 answer.
func decodeStrategy(data json.RawMessage) (*Strategy, error) {
	t := bytes.TrimSpace(data)
	if len(t) == 0 || string(t) == "null" {
		return nil, errors.New("code 200 (new version) without data")
	}
	if t[0] != '{' {
		return nil, fmt.Errorf("data is not a JSON object: %s", transport.Snippet(t))
	}
	var s Strategy
	if err := json.Unmarshal(t, &s); err != nil {
		return nil, fmt.Errorf("data: %s", typeError(err))
	}
	if s.URLFileSize < 0 {
		return nil, fmt.Errorf("data: urlFileSize %d is negative", s.URLFileSize)
	}
	return &s, nil
}

// typeError words a JSON type mismatch as field, want and got.
func typeError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q: want a %s, got a JSON %s", te.Field, te.Type, te.Value)
	}
	return err.Error()
}

// payload returns the configuration content as the bytes a file component
// installs: the JSON itself, or the text of a JSON string (the docs call the
// field a string).
func payload(content json.RawMessage) ([]byte, error) {
	t := bytes.TrimSpace(content)
	if len(t) == 0 || string(t) == "null" {
		return nil, errors.New("configuration offer without content")
	}
	if t[0] == '"' {
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return nil, fmt.Errorf("content: %w", err)
		}
		return []byte(s), nil
	}
	return append([]byte(nil), t...), nil
}
