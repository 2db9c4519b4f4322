package state

import "ota-agent/transport"

// SetStep is where a multi-component update stands (SPEC §12). Persisted
// values; never rename.
type SetStep string

const (
	SetArmed     SetStep = "armed"     // images verified, the A/B slot armed; serial and file parts wait for the new slot's boot
	SetFlashing  SetStep = "flashing"  // flashing serial and file parts, in order
	SetRestoring SetStep = "restoring" // a part failed: putting back every part already changed
)

// Set is a package with several components installed as one update: one
// verdict, one report, all new or all old.
type Set struct {
	Primary string          `json:"primary"` // the offer's component; reports go under it
	Offer   transport.Offer `json:"offer"`
	Step    SetStep         `json:"step"`
	Members []Member        `json:"members"` // flashed in this order, restored in reverse
	// Failed names the part that failed and why, once one has.
	Failed string `json:"failed,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Member is one serial or file part of a Set (the A/B part is the
// primary's own install).
type Member struct {
	Component   string `json:"component"`
	Version     string `json:"version"`
	FromVersion string `json:"from_version"`
	Image       string `json:"image"` // the verified image staged under state_dir/download
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	Kept        string `json:"kept,omitempty"` // the image to put back; "" when none is kept
	Flashed     bool   `json:"flashed"`        // written to the device in this update (or begun)
	Restored    bool   `json:"restored"`
}
