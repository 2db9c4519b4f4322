// Package transport holds what every OTA API client shares: the offer an API
// answer is turned into (SPEC §2), the API interface the agent polls, the
// report it sends back, and the one place that decides whether an error is
// worth retrying.
//
// One package per vendor API sits below this one (transport/akaso,
// transport/mxchip, transport/upgradelink, transport/aliyun), each with a fake
// server in a sibling <api>test package. The download engine lives in
// transport/download.
package transport

import (
	"context"
	"errors"
	"fmt"
	"time"

	"ota-agent/platform/printable"
)

// UpgradeType says how an offer wants to be installed (SPEC §3 rule 7).
// Persisted values; never rename.
type UpgradeType string

const (
	// Default means the API did not say; policy.default_upgrade_type applies.
	Default UpgradeType = ""
	Prompt  UpgradeType = "prompt"
	Silent  UpgradeType = "silent"
	Forced  UpgradeType = "forced"
)

// Offer is one firmware an API offers for one component (SPEC §2). All
// strings are trimmed; digests are lower-case hex or empty.
type Offer struct {
	Component      string      `json:"component"`
	Version        string      `json:"version"`
	URL            string      `json:"url,omitempty"`    // used verbatim; may be empty when Payload is set or ResolveURL is needed
	Size           int64       `json:"size"`             // bytes; 0 = unknown
	SizeIsEstimate bool        `json:"size_is_estimate"` // AKASO "20.8MB"
	MD5            string      `json:"md5,omitempty"`
	SHA256         string      `json:"sha256,omitempty"`
	UpgradeType    UpgradeType `json:"upgrade_type"`
	MinVersion     string      `json:"min_version,omitempty"`
	SrcVersion     string      `json:"src_version,omitempty"` // delta base; must equal current
	Notes          string      `json:"notes,omitempty"`
	ID             string      `json:"id,omitempty"` // the API's own id (AKASO uid, UpgradeLink upgradeId, Aliyun FirmwareId)
	// Payload is inline content (UpgradeLink configuration), installed instead of downloading URL.
	Payload []byte `json:"payload,omitempty"`
	// Extra carries API-specific values the same client needs later (e.g. for its reports).
	Extra map[string]string `json:"extra,omitempty"`
	// Signature is a detached minisign signature given by hand (install
	// --signature); nil: fetched from URL plus the signature suffix.
	Signature []byte `json:"signature,omitempty"`
	// VersionFromPackage: the version was not given (install without
	// --version); the package's signed or manifest version replaces the
	// placeholder in Version.
	VersionFromPackage bool `json:"version_from_package,omitempty"`
	// Refused, when set, says why the API client turned this package down
	// before policy (a status not accepted, an unmapped module, a delta
	// from another version, an unsupported sign method or multi-file
	// package, a module no component manages). The agent never installs
	// such an offer; it shows it as a skip decision with this reason.
	Refused string `json:"refused,omitempty"`
}

// Device is what a client knows about the device when it polls.
type Device struct {
	ID       string            // device.id
	Model    string            // device.model
	Versions map[string]string // component name → current version
}

// API is one vendor OTA API. Implementations are safe for use by one
// goroutine at a time.
type API interface {
	// Check asks the server once and returns its offers (none when up to date).
	Check(ctx context.Context, dev Device) ([]Offer, error)
	// Report tells the server what happened. APIs without reports return nil.
	Report(ctx context.Context, r Report) error
}

// URLResolver is implemented by APIs whose download URLs must be fetched right
// before the download (Aliyun QueryOTAFirmware: presigned, expiring URLs).
// The agent calls it before every download attempt and again after a 403.
type URLResolver interface {
	ResolveURL(ctx context.Context, o Offer) (string, error)
}

// Event is what a report is about. Persisted values; never rename.
type Event string

const (
	EventDownload Event = "download" // the package was fetched and verified (or not)
	EventInstall  Event = "install"  // the component now runs the version (or not)
)

// Report is one event sent back to the API; queued in state until delivered.
type Report struct {
	Component   string            `json:"component"`
	Version     string            `json:"version"`      // offered version
	FromVersion string            `json:"from_version"` // version before the update
	Event       Event             `json:"event"`
	OK          bool              `json:"ok"`
	Reason      string            `json:"reason,omitempty"` // why it failed, for people
	Code        int               `json:"code,omitempty"`   // API specific (UpgradeLink 0,1,1001-1004); 0 = let the client choose
	OfferID     string            `json:"offer_id,omitempty"`
	Versions    map[string]string `json:"versions,omitempty"` // all current versions after the event (MXChip PUT)
	Extra       map[string]string `json:"extra,omitempty"`    // Offer.Extra of the offer concerned
}

// Error is an API failure with the information the retry loop needs.
// Clients return it (wrapped or not) for every failed request.
type Error struct {
	API        string        // "akaso", "mxchip", "upgradelink", "aliyun"
	Op         string        // what was attempted, e.g. "check", "report download"
	Status     int           // HTTP status, 0 if none
	Code       string        // the server's own error code, if any
	Msg        string        // what was wrong, for people
	Retryable  bool          // 5xx, 408, 429, timeouts, resets
	RetryAfter time.Duration // from Retry-After, 0 if absent
	Err        error         // underlying error, may be nil
}

func (e *Error) Error() string {
	s := e.API + " " + e.Op
	if e.Status != 0 {
		s += fmt.Sprintf(": HTTP %d", e.Status)
	}
	if e.Code != "" {
		s += ": code " + e.Code
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return printable.String(s) // Code, Msg and Err may quote the server
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether err is worth another attempt later. Errors that
// are not *Error (a context cancellation aside) count as retryable network
// failures.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Retryable
	}
	return true
}

// RetryAfter returns the server's Retry-After hint carried by err, if any.
func RetryAfter(err error) (time.Duration, bool) {
	var e *Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		return e.RetryAfter, true
	}
	return 0, false
}
