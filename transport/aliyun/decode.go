package aliyun

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"ota-agent/transport"
)

// flexInt is a JSON number that may also arrive as a numeric string ("924");
// null and "" read as 0. Anything else is an error naming what came.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		if s = strings.TrimSpace(str); s == "" {
			*n = 0
			return nil
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return &json.UnmarshalTypeError{Value: "value " + transport.Snippet(b), Type: reflect.TypeFor[int64]()}
	}
	*n = flexInt(v)
	return nil
}

// flexString is a JSON string that may also arrive as a number (FirmwareId
// 167); null reads as "".
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	t := bytes.TrimSpace(b)
	switch {
	case string(t) == "null":
		return nil
	case len(t) > 0 && t[0] == '"':
		var str string
		err := json.Unmarshal(t, &str)
		*s = flexString(str)
		return err
	case len(t) > 0 && (t[0] == '-' || t[0] >= '0' && t[0] <= '9'):
		var num json.Number
		if err := json.Unmarshal(t, &num); err != nil {
			return err
		}
		*s = flexString(num.String())
		return nil
	}
	return &json.UnmarshalTypeError{Value: "value " + transport.Snippet(b), Type: reflect.TypeFor[string]()}
}

// envelope is what every POP answer carries. Gateway errors use Message,
// business errors ErrorMessage.
type envelope struct {
	RequestID    string     `json:"RequestId"`
	Success      *bool      `json:"Success"`
	Code         flexString `json:"Code"`
	ErrorMessage string     `json:"ErrorMessage"`
	Message      string     `json:"Message"`
	HostID       string     `json:"HostId"`
	Recommend    string     `json:"Recommend"`
}

// Firmware is one OTA package as List (SimpleFirmwareInfo) and Query
// (FirmwareInfo) describe it. Field names match PascalCase and camelCase.
type Firmware struct {
	FirmwareID     flexString  `json:"FirmwareId"`
	FirmwareName   string      `json:"FirmwareName"`
	FirmwareDesc   string      `json:"FirmwareDesc"`
	SrcVersion     flexString  `json:"SrcVersion"`
	DestVersion    flexString  `json:"DestVersion"`
	FirmwareSign   string      `json:"FirmwareSign"`
	SignMethod     string      `json:"SignMethod"`
	FirmwareSize   flexInt     `json:"FirmwareSize"`
	FirmwareURL    string      `json:"FirmwareUrl,omitempty"`
	ModuleName     string      `json:"ModuleName"`
	ProductKey     string      `json:"ProductKey"`
	ProductName    string      `json:"ProductName"`
	Status         flexInt     `json:"Status"`
	Type           flexInt     `json:"Type"`
	UtcCreate      string      `json:"UtcCreate"`
	UtcModified    string      `json:"UtcModified"`
	VerifyProgress flexInt     `json:"VerifyProgress,omitempty"`
	Udi            string      `json:"Udi,omitempty"`
	MultiFiles     []MultiFile `json:"MultiFiles,omitempty"`
}

// MultiFile is one file of a multi-file package (QueryOTAFirmware).
type MultiFile struct {
	Name      string  `json:"Name"`
	URL       string  `json:"Url"`
	Size      flexInt `json:"Size"`
	SignValue string  `json:"SignValue"`
	FileMd5   string  `json:"FileMd5"`
}

// listAnswer is a ListOTAFirmware page.
type listAnswer struct {
	envelope
	Total        flexInt      `json:"Total"`
	PageSize     flexInt      `json:"PageSize"`
	PageCount    flexInt      `json:"PageCount"`
	CurrentPage  flexInt      `json:"CurrentPage"`
	FirmwareInfo firmwareList `json:"FirmwareInfo"`
}

// queryAnswer is a QueryOTAFirmware answer.
type queryAnswer struct {
	envelope
	FirmwareInfo *Firmware `json:"FirmwareInfo"`
}

// firmwareList reads List's FirmwareInfo in every shape seen: the XML habit
// {"SimpleFirmwareInfo":[…]}, a single entry not wrapped in an array
// {"SimpleFirmwareInfo":{…}}, a flat array, or null.
type firmwareList []Firmware

func (l *firmwareList) UnmarshalJSON(b []byte) error {
	t := bytes.TrimSpace(b)
	if string(t) == "null" || len(t) == 0 {
		return nil
	}
	if t[0] == '{' {
		var w struct {
			SimpleFirmwareInfo json.RawMessage `json:"SimpleFirmwareInfo"`
		}
		if err := json.Unmarshal(t, &w); err != nil {
			return err
		}
		t = bytes.TrimSpace(w.SimpleFirmwareInfo)
		if len(t) == 0 || string(t) == "null" {
			return nil
		}
	}
	var list []Firmware
	if t[0] == '{' {
		list = make([]Firmware, 1)
		return into(l, list, json.Unmarshal(t, &list[0]))
	}
	return into(l, list, json.Unmarshal(t, &list))
}

func into(l *firmwareList, list []Firmware, err error) error {
	*l = list
	return err
}

// multiFiles accepts a flat array and {"MultiFiles":[…]}.
func (f *Firmware) UnmarshalJSON(b []byte) error {
	type plain Firmware
	var aux struct {
		plain
		MultiFiles json.RawMessage `json:"MultiFiles"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*f = Firmware(aux.plain)
	t := bytes.TrimSpace(aux.MultiFiles)
	if len(t) == 0 || string(t) == "null" {
		return nil
	}
	if t[0] == '{' {
		var w struct {
			MultiFiles []MultiFile `json:"MultiFiles"`
		}
		err := json.Unmarshal(t, &w)
		f.MultiFiles = w.MultiFiles
		return err
	}
	return json.Unmarshal(t, &f.MultiFiles)
}

// decode parses an answer into v (a *listAnswer or *queryAnswer). The error
// says what was wrong, quoting the answer's start.
func decode(raw []byte, v any) error {
	t := bytes.TrimSpace(raw)
	switch {
	case len(t) == 0:
		return errors.New("empty answer, want a JSON object")
	case t[0] == '<':
		return fmt.Errorf("answer is HTML or XML, not JSON (Format=JSON ignored, or a proxy page): %s", transport.Snippet(t))
	case t[0] != '{':
		return fmt.Errorf("answer is not a JSON object: %s", transport.Snippet(t))
	}
	if !json.Valid(t) {
		return fmt.Errorf("answer is not valid JSON: %s", transport.Snippet(t))
	}
	if err := json.Unmarshal(t, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("field %q: want a %s, got %s", fieldPath(te.Field), te.Type, te.Value)
		}
		return fmt.Errorf("answer: %w", err)
	}
	return nil
}

// fieldPath drops the names of embedded helper structs from a decode error's
// field path: "FirmwareInfo.plain.Status" → "FirmwareInfo.Status".
func fieldPath(f string) string {
	parts := strings.Split(f, ".")
	out := parts[:0]
	for _, p := range parts {
		if p != "plain" && p != "envelope" {
			out = append(out, p)
		}
	}
	return strings.Join(out, ".")
}
