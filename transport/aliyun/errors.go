package aliyun

import (
	"strings"

	"ota-agent/transport"
)

// withServerCode adds the gateway's Code and Message (or a business
// ErrorMessage) to an HTTP status error when the body decoded.
func withServerCode(e *transport.Error, env *envelope, derr error) error {
	if derr != nil || env.Code == "" {
		return e
	}
	e.Code = string(env.Code)
	e.Msg = env.message()
	if retryableCode(e.Code) {
		e.Retryable = true
	}
	return e
}

// successError decides on the answer's own Success field: absent or false is
// a failure, with the business Code and ErrorMessage.
func successError(op string, status int, env *envelope) error {
	if env.Success == nil {
		if env.Code != "" {
			return &transport.Error{API: api, Op: op, Status: status, Code: string(env.Code), Msg: env.message(), Retryable: retryableCode(string(env.Code))}
		}
		return &transport.Error{API: api, Op: op, Status: status, Msg: "answer has no Success field; check endpoint points at the IoT API"}
	}
	if !*env.Success {
		return &transport.Error{API: api, Op: op, Status: status, Code: string(env.Code), Msg: env.message(), Retryable: retryableCode(string(env.Code))}
	}
	return nil
}

// message is the error text with what to fix, for codes a field engineer can
// act on.
func (e *envelope) message() string {
	s := strings.TrimSpace(e.Message)
	if s == "" {
		s = strings.TrimSpace(e.ErrorMessage)
	}
	if e.RequestID != "" {
		s += " [RequestId " + e.RequestID + "]"
	}
	switch {
	case e.Code == "SignatureDoesNotMatch" || e.Code == "IncompleteSignature":
		s += " (check access_key_secret_file holds the AccessKey secret)"
	case e.Code == "InvalidAccessKeyId.NotFound":
		s += " (check access_key_id)"
	case strings.HasPrefix(string(e.Code), "InvalidTimeStamp"):
		s += " (check the device clock: the server allows 15 minutes)"
	}
	return s
}

// retryableCode reports the codes that go away by themselves: throttling
// and the server's own faults.
func retryableCode(code string) bool {
	return strings.HasPrefix(code, "Throttling") || code == "ServiceUnavailable" || code == "InternalError" ||
		code == "iot.system.SystemException"
}
