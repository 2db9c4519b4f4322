package download

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"ota-agent/platform/safefile"
)

// UnpackFile unpacks the staged package at path. Each image goes to
// dir/<component>.img, named from the configured component (want reports
// which components this install takes), capped at limit bytes (limitName
// names the cap in errors). Files of a failed unpack are removed.
func UnpackFile(path string, p Plan, want func(component string) bool, dir string, limit int64, limitName string) (Unpacked, error) {
	f, err := safefile.OpenNoFollow(path, os.O_RDONLY, 0)
	if err != nil {
		return Unpacked{}, fmt.Errorf("open staged package: %w", err)
	}
	defer f.Close()
	if p.Name == "" {
		p.Name = filepath.Base(path)
	}
	fs := &FileSinks{Dir: dir, Limit: limit, LimitName: limitName}
	defer fs.Close()
	p.Route = func(component string) (*Sink, error) {
		if !want(component) {
			return nil, nil
		}
		return fs.Open(component)
	}
	u, err := Unpack(f, p)
	if err == nil {
		err = fs.Finish(&u)
	}
	if err != nil {
		fs.Remove()
	}
	return u, err
}

// FileSinks stage images as files dir/<component>.img (ImagePath), for an
// unpack from staging or of a package streaming into a slot whose other
// components' images need a file.
type FileSinks struct {
	Dir       string
	Limit     int64  // cap on each image
	LimitName string // names the cap in errors
	files     map[string]*os.File
}

// Open creates component's image file afresh (again after a restart from
// zero) and returns its sink.
func (s *FileSinks) Open(component string) (*Sink, error) {
	if s.files == nil {
		s.files = map[string]*os.File{}
	}
	if f := s.files[component]; f != nil {
		f.Close()
	}
	f, err := CreateExclusive(ImagePath(s.Dir, component))
	if err != nil {
		return nil, err
	}
	s.files[component] = f
	return &Sink{W: f, Limit: s.Limit, LimitName: s.LimitName}, nil
}

// Finish syncs the images and names their paths in u's entries.
func (s *FileSinks) Finish(u *Unpacked) error {
	for i := range u.Entries {
		if f := s.files[u.Entries[i].Component]; f != nil {
			if err := f.Sync(); err != nil {
				return fmt.Errorf("sync staged image %s: %w", f.Name(), err)
			}
			u.Entries[i].Path = f.Name()
		}
	}
	return nil
}

// Close closes the image files.
func (s *FileSinks) Close() {
	for _, f := range s.files {
		f.Close()
	}
}

// Remove closes and deletes the image files (a failed unpack).
func (s *FileSinks) Remove() {
	s.Close()
	for _, f := range s.files {
		os.Remove(f.Name())
	}
}

// ImagePath is where UnpackFile puts component's image in dir.
func ImagePath(dir, component string) string { return filepath.Join(dir, component+".img") }

// CreateExclusive creates path anew for writing (mode 0600), replacing a
// regular file left there and never following a link.
func CreateExclusive(path string) (*os.File, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("remove old %s: %w", path, err)
	}
	f, err := safefile.OpenNoFollow(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create image: %w", err)
	}
	return f, nil
}

// Stream is a Dest that unpacks the package it receives while it downloads,
// for an A/B slot: a raw image is written through at its offsets (and can
// resume from the journal); a compressed or zip package is unpacked as it
// arrives and its image written to the sink Plan.Route gives. An unpacked
// stream cannot resume (a decompressor's state is not in the journal), so
// Stream tells Fetch to keep no journal for it; a restart from zero (a 200
// answer to a range request, a changed file) starts the unpacking again.
type Stream struct {
	plan Plan
	raw  Dest // the slot, for a raw image

	mode    atomic.Int32 // streamMode; read by Fetch's reader through Resumable
	next    int64        // next offset while unpacking
	pw      *io.PipeWriter
	done    chan struct{}
	mu      sync.Mutex
	res     Unpacked
	err     error
	started bool
}

type streamMode int

const (
	modeUnknown streamMode = iota
	modeRaw
	modeUnpack
)

// NewStream returns a Stream writing a raw image to raw and unpacked images
// where p.Route says.
func NewStream(raw Dest, p Plan) *Stream { return &Stream{plan: p, raw: raw} }

// Resumable reports whether a journal may describe the bytes written: only
// for a raw image.
func (s *Stream) Resumable() bool { return s.getMode() != modeUnpack }

func (s *Stream) getMode() streamMode  { return streamMode(s.mode.Load()) }
func (s *Stream) setMode(m streamMode) { s.mode.Store(int32(m)) }

// WriteAt implements Dest. Fetch writes in order; offset 0 again means the
// download restarted from zero.
func (s *Stream) WriteAt(p []byte, off int64) (int, error) {
	if off == 0 || s.getMode() == modeUnknown {
		if err := s.decide(p, off); err != nil {
			return 0, err
		}
	}
	if s.getMode() == modeRaw {
		if s.plan.Package != nil {
			s.plan.Package.Write(p)
		}
		return s.raw.WriteAt(p, off)
	}
	if off != s.next {
		return 0, fmt.Errorf("unpack %s: write at %d, want %d (out of order)", s.plan.Name, off, s.next)
	}
	n, err := s.pw.Write(p)
	s.next += int64(n)
	return n, err
}

// decide picks the mode from the package's first bytes (a resumed raw
// image starts past offset 0) and (re)starts the unpacker.
func (s *Stream) decide(p []byte, off int64) error {
	s.stop(errRestarted)
	if s.plan.Package != nil {
		s.plan.Package.Reset()
	}
	if off > 0 {
		s.setMode(modeRaw)
		return s.hashPrefix(off)
	}
	if Detect(p[:min(len(p), 8)], s.plan.Name) == Raw {
		s.setMode(modeRaw)
		return nil
	}
	s.setMode(modeUnpack)
	s.next = 0
	pr, pw := io.Pipe()
	s.pw, s.done, s.started = pw, make(chan struct{}), true
	go func() {
		defer close(s.done)
		res, err := Unpack(pr, s.plan)
		pr.CloseWithError(err) // a failure stops Fetch's writes with its cause
		s.mu.Lock()
		s.res, s.err = res, err
		s.mu.Unlock()
	}()
	return nil
}

var errRestarted = errors.New("download restarted from zero")

// stop ends a running unpacker with err and waits for it.
func (s *Stream) stop(err error) {
	if !s.started {
		return
	}
	s.pw.CloseWithError(err)
	<-s.done
	s.started = false
}

// hashPrefix feeds Plan.Package the n bytes a resumed raw image already
// has in its slot.
func (s *Stream) hashPrefix(n int64) error {
	if s.plan.Package == nil {
		return nil
	}
	ra, ok := s.raw.(io.ReaderAt)
	if !ok {
		return fmt.Errorf("unpack %s: cannot read back the %d bytes already written to check the signature", s.plan.Name, n)
	}
	if _, err := io.Copy(s.plan.Package, io.NewSectionReader(ra, 0, n)); err != nil {
		return fmt.Errorf("unpack %s: read back the %d bytes already written: %w", s.plan.Name, n, err)
	}
	return nil
}

// ReadAt reads back a raw image (io.ReaderAt of the slot) so that a
// resumed download re-hashes the prefix already written.
func (s *Stream) ReadAt(p []byte, off int64) (int, error) {
	ra, ok := s.raw.(io.ReaderAt)
	if !ok || s.getMode() == modeUnpack {
		return 0, fmt.Errorf("unpack %s: the destination cannot be read back", s.plan.Name)
	}
	return ra.ReadAt(p, off)
}

// Sync implements Dest: a raw image syncs its slot; an unpacked one has
// nothing a journal could rely on.
func (s *Stream) Sync() error {
	if s.getMode() == modeRaw {
		return s.raw.Sync()
	}
	return nil
}

// Finish ends the stream after Fetch returned res and reports the images
// written: a raw image is the package itself.
func (s *Stream) Finish(res Result) (Unpacked, error) {
	if s.getMode() != modeUnpack {
		e := Entry{Component: s.plan.Component, Size: res.Size, SHA256: res.SHA256}
		return Unpacked{Format: Raw, Entries: []Entry{e}}, nil
	}
	s.pw.Close()
	<-s.done
	s.started = false
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.res, s.err
}

// Abort stops a running unpacker after a failed Fetch.
func (s *Stream) Abort() { s.stop(errors.New("download failed")) }
