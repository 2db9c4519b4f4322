package hawkbit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Link is a HAL link ({"href": "..."}).
type Link struct {
	Href string `json:"href"`
}

// Base is the answer to the poll of the controller base (reference §4).
type Base struct {
	Config struct {
		Polling struct {
			Sleep string `json:"sleep"`
		} `json:"polling"`
	} `json:"config"`
	Links struct {
		DeploymentBase   *Link `json:"deploymentBase"`
		CancelAction     *Link `json:"cancelAction"`
		ConfirmationBase *Link `json:"confirmationBase"`
		InstalledBase    *Link `json:"installedBase"`
		ConfigData       *Link `json:"configData"`
	} `json:"_links"`
}

// Deployment is the answer of GET deploymentBase/{id} (reference §5).
type Deployment struct {
	ID         string `json:"id"`
	Deployment struct {
		Download          string  `json:"download"`          // skip | attempt | forced
		Update            string  `json:"update"`            // skip | attempt | forced
		MaintenanceWindow string  `json:"maintenanceWindow"` // available | unavailable | "" (no schedule)
		Chunks            []Chunk `json:"chunks"`
	} `json:"deployment"`
}

// Chunk is one software module of a deployment.
type Chunk struct {
	Part      string     `json:"part"`
	Version   string     `json:"version"`
	Name      string     `json:"name"`
	Encrypted bool       `json:"encrypted"`
	Artifacts []Artifact `json:"artifacts"`
	Metadata  []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"metadata"`
}

// Artifact is one file of a chunk.
type Artifact struct {
	Filename string `json:"filename"`
	Hashes   struct {
		SHA1   string `json:"sha1"`
		MD5    string `json:"md5"`
		SHA256 string `json:"sha256"`
	} `json:"hashes"`
	Size  int64 `json:"size"`
	Links struct {
		Download     *Link `json:"download"`
		DownloadHTTP *Link `json:"download-http"`
	} `json:"_links"`
}

// Cancel is the answer of GET cancelAction/{id} (reference §8).
type Cancel struct {
	ID           string `json:"id"`
	CancelAction struct {
		StopID string `json:"stopId"`
	} `json:"cancelAction"`
}

// Modes of deployment.download and deployment.update.
const (
	ModeSkip    = "skip"
	ModeAttempt = "attempt"
	ModeForced  = "forced"
)

// Maximum sizes a hostile answer is held to.
const (
	maxChunks    = 64
	maxArtifacts = 64
	maxID        = 19 // a Java Long in decimal
)

var (
	hexRE = regexp.MustCompile(`^[0-9a-fA-F]+$`)
	idRE  = regexp.MustCompile(`^[0-9]{1,19}$`)
)

// decode unmarshals b into v, naming what b was when it is not a JSON
// object of the right shape.
func decode(b []byte, v any, what string) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return fmt.Errorf("%s: got %s, want a JSON object", what, describe(b))
	}
	if err := json.Unmarshal(b, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%s: field %q is a JSON %s, want %s", what, te.Field, te.Value, te.Type)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func describe(b []byte) string {
	if len(b) == 0 {
		return "an empty body"
	}
	switch b[0] {
	case '[':
		return "a JSON array"
	case '<':
		return "an HTML page"
	}
	return "text that is not a JSON object"
}

// DecodeBase decodes the poll answer.
func DecodeBase(b []byte) (Base, error) {
	var v Base
	err := decode(b, &v, "controller base")
	return v, err
}

// DecodeCancel decodes a cancelAction answer and checks its stopId.
func DecodeCancel(b []byte) (Cancel, error) {
	var v Cancel
	if err := decode(b, &v, "cancelAction"); err != nil {
		return v, err
	}
	if !idRE.MatchString(v.CancelAction.StopID) {
		return v, fmt.Errorf("cancelAction: stopId %q is not an action id", v.CancelAction.StopID)
	}
	return v, nil
}

// DecodeDeployment decodes a deploymentBase answer and checks every value
// the agent acts on: the action id, the modes, and each artifact's name,
// size and hashes.
func DecodeDeployment(b []byte) (Deployment, error) {
	var v Deployment
	if err := decode(b, &v, "deploymentBase"); err != nil {
		return v, err
	}
	d := v.Deployment
	switch {
	case !idRE.MatchString(v.ID):
		return v, fmt.Errorf("deploymentBase: id %q is not an action id", v.ID)
	case !mode(d.Download):
		return v, fmt.Errorf("deploymentBase: download %q is not skip, attempt or forced", d.Download)
	case !mode(d.Update):
		return v, fmt.Errorf("deploymentBase: update %q is not skip, attempt or forced", d.Update)
	case d.MaintenanceWindow != "" && d.MaintenanceWindow != "available" && d.MaintenanceWindow != "unavailable":
		return v, fmt.Errorf("deploymentBase: maintenanceWindow %q is not available or unavailable", d.MaintenanceWindow)
	case len(d.Chunks) > maxChunks:
		return v, fmt.Errorf("deploymentBase: %d chunks, more than %d", len(d.Chunks), maxChunks)
	}
	for i, ch := range d.Chunks {
		if err := checkChunk(ch); err != nil {
			return v, fmt.Errorf("deploymentBase: chunks[%d] (%q): %w", i, ch.Name, err)
		}
	}
	return v, nil
}

func mode(s string) bool { return s == ModeSkip || s == ModeAttempt || s == ModeForced }

// checkChunk checks the artifacts of one chunk.
func checkChunk(ch Chunk) error {
	if len(ch.Artifacts) > maxArtifacts {
		return fmt.Errorf("%d artifacts, more than %d", len(ch.Artifacts), maxArtifacts)
	}
	for j, a := range ch.Artifacts {
		if err := checkArtifact(a); err != nil {
			return fmt.Errorf("artifacts[%d] (%q): %w", j, a.Filename, err)
		}
	}
	return nil
}

func checkArtifact(a Artifact) error {
	h := a.Hashes
	switch {
	case a.Filename == "":
		return errors.New("filename is empty")
	case a.Size < 0:
		return fmt.Errorf("size %d is negative", a.Size)
	case !digest(h.MD5, 32):
		return fmt.Errorf("md5 %q is not 32 hex digits", h.MD5)
	case !digest(h.SHA1, 40):
		return fmt.Errorf("sha1 %q is not 40 hex digits", h.SHA1)
	case !digest(h.SHA256, 64):
		return fmt.Errorf("sha256 %q is not 64 hex digits", h.SHA256)
	}
	return nil
}

// digest reports whether s is empty or n hex digits.
func digest(s string, n int) bool { return s == "" || (len(s) == n && hexRE.MatchString(s)) }

// ParseSleep reads config.polling.sleep: "HH:mm:ss" under 24 hours, an
// ISO-8601 duration such as "PT24H" or "P1DT2H" from 24 hours up
// (reference §4). E.g. ParseSleep("00:05:00") = 5m.
func ParseSleep(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "P") {
		return parseISO(s)
	}
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return 0, fmt.Errorf("sleep %q is neither HH:mm:ss nor an ISO-8601 duration", s)
	}
	var d time.Duration
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || len(p) > 2 || (i > 0 && n > 59) {
			return 0, fmt.Errorf("sleep %q is not HH:mm:ss", s)
		}
		d = d*60 + time.Duration(n)
	}
	return d * time.Second, nil
}

var isoRE = regexp.MustCompile(`^P(?:([0-9]{1,4})D)?(?:T(?:([0-9]{1,6})H)?(?:([0-9]{1,8})M)?(?:([0-9]{1,9})(?:\.[0-9]{1,9})?S)?)?$`)

// parseISO reads the ISO-8601 durations java.time.Duration prints (days,
// hours, minutes, seconds; fractions of a second dropped).
func parseISO(s string) (time.Duration, error) {
	m := isoRE.FindStringSubmatch(s)
	if m == nil || s == "P" || s == "PT" {
		return 0, fmt.Errorf("sleep %q is not an ISO-8601 duration (e.g. PT24H)", s)
	}
	var d time.Duration
	for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute, time.Second} {
		if m[i+1] != "" {
			n, _ := strconv.ParseInt(m[i+1], 10, 64)
			d += time.Duration(n) * unit
		}
	}
	return d, nil
}
