package akaso

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"ota-agent/transport"
	"regexp"
	"strconv"
	"strings"
)

// Entry is one element of the getVersionList array exactly as the server sent
// it: nothing is trimmed or changed case, so a fixture round-trips without loss.
type Entry struct {
	UID            string `json:"uid"`
	MD5Check       string `json:"md5check"`
	ModifyDate     string `json:"modify_date"`
	OTALog         string `json:"otaLog"`
	Model          string `json:"model"`
	Src            string `json:"src"`
	VersionName    string `json:"version_name"`
	FileSize       string `json:"fileSize"`
	MinVersionName string `json:"min_version_name"`
}

// wireEntry reads Entry leniently: uid and fileSize may also be JSON numbers.
type wireEntry struct {
	UID            numString `json:"uid"`
	MD5Check       string    `json:"md5check"`
	ModifyDate     string    `json:"modify_date"`
	OTALog         string    `json:"otaLog"`
	Model          string    `json:"model"`
	Src            string    `json:"src"`
	VersionName    string    `json:"version_name"`
	FileSize       numString `json:"fileSize"`
	MinVersionName string    `json:"min_version_name"`
}

// numString is a JSON string, or a JSON number kept as its literal text.
type numString string

// UnmarshalJSON implements json.Unmarshaler.
func (s *numString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = numString(v)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("got %s, want a string or a number", describe(b))
	}
	*s = numString(n.String())
	return nil
}

// ErrNotArray means the answer was valid JSON but not the list of entries.
var ErrNotArray = errors.New("answer is not a JSON array of entries")

// envelope is the {code,msg,data} shape seed-apis §1.2 assumes for errors.
type envelope struct {
	Code *json.Number    `json:"code"`
	Msg  string          `json:"msg"`
	Data json.RawMessage `json:"data"`
}

// Decode parses a getVersionList answer. The body must be a JSON array of
// entry objects, or an object that wraps one in "data" with no failing "code".
// Every field must have its documented type (uid and fileSize may be numbers);
// unknown fields are ignored. Decode does not check that fields are present:
// Check does that for the entries it uses.
func Decode(body []byte) ([]Entry, error) {
	b := bytes.TrimSpace(body)
	if len(b) > 0 && b[0] == '{' {
		var err error
		if b, err = unwrap(b); err != nil {
			return nil, err
		}
	}
	if len(b) == 0 || b[0] != '[' {
		return nil, fmt.Errorf("%w: got %s", ErrNotArray, describe(b))
	}
	var wire []json.RawMessage
	if err := json.Unmarshal(b, &wire); err != nil {
		return nil, fmt.Errorf("decode entry list: %w", err)
	}
	out := make([]Entry, 0, len(wire))
	for i, raw := range wire {
		e, err := decodeEntry(raw)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		out = append(out, e)
	}
	return out, nil
}

func decodeEntry(raw json.RawMessage) (Entry, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return Entry{}, fmt.Errorf("got %s, want an object", describe(raw))
	}
	var w wireEntry
	if err := json.Unmarshal(raw, &w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Entry{}, fmt.Errorf("field %q is a JSON %s, want a string", te.Field, te.Value)
		}
		return Entry{}, fmt.Errorf("field %q: %w", lenientField(raw), err)
	}
	return Entry{
		UID: string(w.UID), MD5Check: w.MD5Check, ModifyDate: w.ModifyDate, OTALog: w.OTALog,
		Model: w.Model, Src: w.Src, VersionName: w.VersionName, FileSize: string(w.FileSize),
		MinVersionName: w.MinVersionName,
	}, nil
}

// lenientField names the uid or fileSize field that is neither a string nor
// a number in an entry.
func lenientField(raw []byte) string {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(raw, &m)
	for _, f := range []string{"uid", "fileSize"} {
		var ns numString
		if v, ok := m[f]; ok && ns.UnmarshalJSON(v) != nil {
			return f
		}
	}
	return "uid or fileSize"
}

// CodeError is an answer that is an error object {"code":…,"msg":…}
// instead of the entry list. It wraps ErrNotArray.
type CodeError struct {
	Code string // as sent, e.g. "500"; "" when absent
	Msg  string // as sent, e.g. "系统繁忙"
}

func (e *CodeError) Error() string {
	return fmt.Sprintf("%v: got an error object: code %q, msg %q", ErrNotArray, e.Code, e.Msg)
}

// Unwrap returns ErrNotArray.
func (e *CodeError) Unwrap() error { return ErrNotArray }

// busyWords mark a message that asks to try again later.
var busyWords = []string{"繁忙", "稍后", "busy", "try again", "timeout", "超时"}

// Busy reports whether the server says it is busy or failed on its side: a
// code of 408, 429 or 500-599 (HTTP-like, as the seed's backend uses) or a
// message asking to try later. Such an answer is worth a retry with backoff,
// like an HTTP 5xx.
func (e *CodeError) Busy() bool {
	if n, err := strconv.Atoi(e.Code); err == nil && (n == 408 || n == 429 || (n >= 500 && n <= 599)) {
		return true
	}
	m := strings.ToLower(e.Msg)
	for _, w := range busyWords {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}

// unwrap returns the array an object answer carries in "data", or an error
// quoting its code and message.
func unwrap(b []byte) ([]byte, error) {
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("%w: got an object that does not decode: %w", ErrNotArray, err)
	}
	code := ""
	if env.Code != nil {
		code = env.Code.String()
	}
	data := bytes.TrimSpace(env.Data)
	ok := code == "" || code == "0" || code == "200"
	if ok && len(data) > 0 && data[0] == '[' {
		return data, nil
	}
	if code != "" || env.Msg != "" {
		return nil, &CodeError{Code: code, Msg: env.Msg}
	}
	return nil, fmt.Errorf("%w: got an object without a \"data\" array", ErrNotArray)
}

// describe names the JSON type of b for an error message.
func describe(b []byte) string {
	if d := transport.DescribeJSON(b); d != "" {
		return d
	}
	return "an empty answer"
}

// fileSizeRE is seed-apis §1.3's pattern for fileSize.
var fileSizeRE = regexp.MustCompile(`(?i)^\s*([0-9]+(?:\.[0-9]+)?)\s*(B|KB|MB|GB)\s*$`)

// ParseFileSize turns a fileSize string into bytes, reading KB/MB/GB as
// powers of 1024 (the larger reading, so a free-space check errs on the safe
// side). E.g. ParseFileSize("20.8MB") = 21810380. It reports false for
// anything else, including a bare number with no unit.
func ParseFileSize(s string) (int64, bool) {
	m := fileSizeRE.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	shift := map[string]uint{"B": 0, "KB": 10, "MB": 20, "GB": 30}[strings.ToUpper(m[2])]
	v *= float64(uint64(1) << shift)
	if v > math.MaxInt64/2 {
		return 0, false
	}
	return int64(math.Ceil(v)), true
}
