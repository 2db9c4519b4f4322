package mxchip

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"ota-agent/transport"
	"strconv"
)

// Meta is the envelope's status: Code 0 is success, Message says why not.
type Meta struct {
	Code    int64  `json:"code"`
	Message string `json:"message"`
}

// File is one firmware of a check answer, as sent (untrimmed).
type File struct {
	FileURL   string `json:"file_url"`
	MD5       string `json:"md5"`
	Version   string `json:"version"`
	OTAType   int64  `json:"ota_type"` // 0 MCU, 1 Wi-Fi
	Customize string `json:"customize"`
}

// CheckData is the data of a successful check answer. Files is nil when the
// server sent none, null or [].
type CheckData struct {
	NeedOTA bool   `json:"need_ota"`
	Files   []File `json:"files"`
}

// ErrNoMeta means the answer is JSON but not the {meta,data} envelope.
var ErrNoMeta = errors.New("answer has no meta.code")

// lenientInt is a JSON integer, or a string holding one.
type lenientInt struct {
	v   int64
	set bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *lenientInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return &intError{got: describe(b)}
	}
	n.v, n.set = v, true
	return nil
}

// intError is a lenientInt that holds no integer; the caller names the field.
type intError struct{ got string }

func (e *intError) Error() string { return "got " + e.got + ", want an integer" }

// fieldErrAt names field in an intError, and rewords a json type error.
func fieldErrAt(field string, err error) error {
	var ie *intError
	if errors.As(err, &ie) {
		return fmt.Errorf("field %q: %w", field, err)
	}
	return fieldErr(err)
}

type wireEnvelope struct {
	Meta *struct {
		Code    lenientInt `json:"code"`
		Message string     `json:"message"`
	} `json:"meta"`
	Data json.RawMessage `json:"data"`
}

// DecodeEnvelope splits an answer into its meta and raw data. It fails when
// the body is not a JSON object or has no integer meta.code.
func DecodeEnvelope(body []byte) (Meta, json.RawMessage, error) {
	b := bytes.TrimSpace(body)
	if len(b) == 0 || b[0] != '{' {
		return Meta{}, nil, fmt.Errorf("got %s, want a {\"meta\",\"data\"} object", describe(b))
	}
	var env wireEnvelope
	if err := json.Unmarshal(b, &env); err != nil {
		return Meta{}, nil, fmt.Errorf("decode envelope: %w", fieldErrAt("meta.code", err))
	}
	if env.Meta == nil || !env.Meta.Code.set {
		return Meta{}, nil, ErrNoMeta
	}
	return Meta{Code: env.Meta.Code.v, Message: env.Meta.Message}, env.Data, nil
}

type wireFile struct {
	FileURL   string     `json:"file_url"`
	MD5       string     `json:"md5"`
	Version   string     `json:"version"`
	OTAType   lenientInt `json:"ota_type"`
	Customize string     `json:"customize"`
}

// DecodeCheck decodes a check answer. The data is decoded only when
// meta.code is 0; then need_ota must be a boolean, files an array (or null
// or absent) and every file must carry an integer ota_type.
func DecodeCheck(body []byte) (Meta, CheckData, error) {
	meta, raw, err := DecodeEnvelope(body)
	if err != nil || meta.Code != 0 {
		return meta, CheckData{}, err
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return meta, CheckData{}, fmt.Errorf("data: got %s, want an object with need_ota", describe(raw))
	}
	var w struct {
		NeedOTA *bool      `json:"need_ota"`
		Files   []wireFile `json:"files"`
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return meta, CheckData{}, fmt.Errorf("data: %w", fieldErrAt("files.ota_type", err))
	}
	if w.NeedOTA == nil {
		return meta, CheckData{}, errors.New("data: need_ota is missing")
	}
	d := CheckData{NeedOTA: *w.NeedOTA}
	for i, f := range w.Files {
		if !f.OTAType.set {
			return meta, CheckData{}, fmt.Errorf("data: files[%d] has no ota_type, so it is not known whether it is for the MCU or the Wi-Fi module", i)
		}
		d.Files = append(d.Files, File{FileURL: f.FileURL, MD5: f.MD5, Version: f.Version, OTAType: f.OTAType.v, Customize: f.Customize})
	}
	return meta, d, nil
}

// fieldErr rewords a json type error to name the field.
func fieldErr(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("field %q is a JSON %s, want %s", te.Field, te.Value, te.Type)
	}
	return err
}

// describe names the JSON type of b for an error message.
func describe(b []byte) string {
	if d := transport.DescribeJSON(b); d != "" {
		return d
	}
	return "nothing"
}
