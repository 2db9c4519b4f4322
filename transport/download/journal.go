package download

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"ota-agent/platform/safefile"
	"time"

	"ota-agent/platform/atomicfile"
)

// journalVersion is stored in every journal; a journal with another value is
// discarded (and the download restarts) instead of being misread.
const journalVersion = 1

// journal is the resume record of one download. Persisted field names; never
// rename.
type journal struct {
	Version      int           `json:"version"`
	URL          string        `json:"url"`           // Request.URL, the download's identity
	WantSize     int64         `json:"want_size"`     // Request.Size
	WantMD5      string        `json:"want_md5"`      // Request.MD5
	WantSHA256   string        `json:"want_sha256"`   // Request.SHA256
	ETag         string        `json:"etag"`          // validator from the first answer
	LastModified string        `json:"last_modified"` // validator when there is no strong ETag
	Total        int64         `json:"total"`         // size the server announced, -1 unknown
	Offset       int64         `json:"offset"`        // bytes durable in Dest and hashed
	Fetched      int64         `json:"fetched"`       // bytes received across attempts and restarts (budget)
	MD5State     []byte        `json:"md5_state"`
	SHA256State  []byte        `json:"sha256_state"`
	Elapsed      time.Duration `json:"elapsed_ns"` // time spent across attempts and restarts (TimeBudget)
}

// hashes is the running pair of digests. md5 is nil when the download
// does not need it (the request gives no MD5): SHA-256 is always computed,
// for the image's identity and the slot's read-back.
type hashes struct{ md5, sha256 hash.Hash }

// newHashes returns both digests.
func newHashes() hashes { return newHashesFor(true) }

// newHashesFor returns SHA-256, and MD5 too when withMD5.
func newHashesFor(withMD5 bool) hashes {
	h := hashes{sha256: sha256.New()}
	if withMD5 {
		h.md5 = md5.New()
	}
	return h
}

func (h hashes) Write(p []byte) {
	if h.md5 != nil {
		h.md5.Write(p)
	}
	h.sha256.Write(p)
}

// marshal returns the states; m is nil when MD5 is not computed.
func (h hashes) marshal() (m, s []byte, err error) {
	if h.md5 != nil {
		if m, err = h.md5.(encoding.BinaryMarshaler).MarshalBinary(); err != nil {
			return nil, nil, err
		}
	}
	s, err = h.sha256.(encoding.BinaryMarshaler).MarshalBinary()
	return m, s, err
}

// unmarshal restores the states; m is ignored when MD5 is not computed.
func (h hashes) unmarshal(m, s []byte) error {
	if h.md5 != nil {
		if err := h.md5.(encoding.BinaryUnmarshaler).UnmarshalBinary(m); err != nil {
			return fmt.Errorf("md5 state: %w", err)
		}
	}
	if err := h.sha256.(encoding.BinaryUnmarshaler).UnmarshalBinary(s); err != nil {
		return fmt.Errorf("sha256 state: %w", err)
	}
	return nil
}

// decodeJournal parses a journal and checks it is self-consistent.
func decodeJournal(b []byte) (*journal, error) {
	var j journal
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, err
	}
	switch {
	case j.Version != journalVersion:
		return nil, fmt.Errorf("journal version %d, want %d", j.Version, journalVersion)
	case j.Offset < 0 || j.Fetched < 0 || j.Total < -1 || j.WantSize < 0 || j.Elapsed < 0:
		return nil, errors.New("negative offset, fetched, size or elapsed time")
	case j.Total >= 0 && j.Offset > j.Total:
		return nil, fmt.Errorf("offset %d past total %d", j.Offset, j.Total)
	}
	withMD5 := len(j.MD5State) > 0 || j.WantMD5 != "" // no MD5 state: the download computes none
	if err := newHashesFor(withMD5).unmarshal(j.MD5State, j.SHA256State); err != nil {
		return nil, err
	}
	if withMD5 {
		if err := checkStateLen("md5", j.MD5State, j.Offset); err != nil {
			return nil, err
		}
	}
	if err := checkStateLen("sha256", j.SHA256State, j.Offset); err != nil {
		return nil, err
	}
	return &j, nil
}

// checkStateLen checks that a marshalled MD5 or SHA-256 state (which ends
// with the number of bytes hashed, big-endian uint64) covers exactly offset
// bytes: a journal ahead of its hash states would resume with digests that
// skip bytes. state has passed UnmarshalBinary, so it is long enough.
func checkStateLen(algo string, state []byte, offset int64) error {
	n := binary.BigEndian.Uint64(state[len(state)-8:])
	switch {
	case uint64(offset) > n:
		return fmt.Errorf("journal offset %d is ahead of its %s state (%d bytes hashed)", offset, algo, n)
	case uint64(offset) < n:
		return fmt.Errorf("journal offset %d is behind its %s state (%d bytes hashed)", offset, algo, n)
	}
	return nil
}

// loadJournal reads path; a missing file is (nil, nil).
func loadJournal(path string) (*journal, error) {
	b, err := safefile.ReadFileNoFollow(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeJournal(b)
}

// save writes j to path atomically: temp file, fsync, rename, directory fsync.
func (j *journal) save(path string) error {
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, b, 0o600)
}

// WriteFileAtomic replaces path with data: a temp file in the same
// directory, fsync, rename, then fsync of the directory so the rename
// survives a power cut (SD cards need that last step).
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	return atomicfile.WriteFile(path, data, mode)
}

// removeJournal deletes path; a missing file is fine.
func removeJournal(path string) error {
	if path == "" {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
