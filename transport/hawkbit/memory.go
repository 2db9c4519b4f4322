package hawkbit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// maxActions bounds the actions the state file remembers; the oldest are
// forgotten first (their feedback was delivered or the server closed them).
const maxActions = 16

// action is what the client remembers of one hawkBit action.
type action struct {
	ID       string            `json:"id"`
	Feedback string            `json:"feedback"`          // the deploymentBase feedback URL
	Pending  map[string]string `json:"pending,omitempty"` // component → version still to install
	Chunks   int               `json:"chunks"`            // chunks mapped to components
	Sent     map[string]bool   `json:"sent,omitempty"`    // feedback steps delivered (step keys)
	Armed    bool              `json:"armed,omitempty"`   // past the point of no return
	Canceled bool              `json:"canceled,omitempty"`
	Closed   bool              `json:"closed,omitempty"` // closed on the server (closed sent or 410)
}

// memory is the persisted client state. Persisted field names; never rename.
type memory struct {
	path    string
	Actions []*action `json:"actions"`
}

// loadMemory reads the state file; a missing one is an empty state.
func loadMemory(path string) (*memory, error) {
	m := &memory{path: path}
	if path == "" {
		return m, nil
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open hawkBit state %s: %w", path, err)
	}
	defer f.Close()
	if err := json.NewDecoder(f).Decode(m); err != nil {
		return nil, fmt.Errorf("read hawkBit state %s: %v (delete the file to start afresh)", path, err)
	}
	m.path = path
	return m, nil
}

// get returns the action with id, nil if unknown.
func (m *memory) get(id string) *action {
	for _, a := range m.Actions {
		if a.ID == id {
			return a
		}
	}
	return nil
}

// add remembers a new action, forgetting the oldest beyond maxActions.
func (m *memory) add(a *action) {
	m.Actions = append(m.Actions, a)
	if n := len(m.Actions); n > maxActions {
		m.Actions = m.Actions[n-maxActions:]
	}
}

// save writes the state atomically: a temporary file, fsync, rename, and
// an fsync of the directory (SD cards lose renames without it).
func (m *memory) save() error {
	if m.path == "" {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode hawkBit state: %w", err)
	}
	dir := filepath.Dir(m.path)
	tmp, err := os.CreateTemp(dir, ".hawkbit-*.tmp")
	if err != nil {
		return fmt.Errorf("save hawkBit state in %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name())
	if _, err = tmp.Write(b); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), m.path)
	}
	if err != nil {
		return fmt.Errorf("save hawkBit state %s: %w", m.path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
