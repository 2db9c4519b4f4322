package downloadtest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"
)

// Kind is a fault the server injects into one answer.
type Kind int

// Faults. Each applies to one request (Push) or to every request (Always).
const (
	None    Kind = iota
	Status       // answer Fault.Status (with Fault.RetryAfter) and no body
	Cut          // drop the connection after Fault.N body bytes
	Stall        // send Fault.N body bytes, then nothing until the client leaves
	Change       // replace the file (new bytes, new ETag) before answering
	Resize       // serve Fault.N bytes from now on, same seed and ETag (a broken or hostile server)
	Endless      // answer 200 without Content-Length and a body that never ends
)

// String implements fmt.Stringer.
func (k Kind) String() string {
	return [...]string{"none", "status", "cut", "stall", "change", "resize", "endless"}[k]
}

// Fault is one injected fault.
type Fault struct {
	Kind       Kind
	N          int64  // Cut, Stall: body bytes sent first
	Status     int    // Status: the HTTP status
	RetryAfter string // Status: the Retry-After header, if any
	Whole      bool   // answer 200 with the whole file to a range request (combines with the rest)
}

// Server serves one file at every path, over loopback, with Range and
// If-Range support (http.ServeContent), an ETag and a Last-Modified, and the
// faults pushed on it. Safe for concurrent use.
type Server struct {
	*httptest.Server

	mu          sync.Mutex
	content     Content
	gen         int       // bumped by Change; part of the ETag
	modTime     time.Time // Last-Modified
	queue       []Fault
	always      Fault
	corruptAt   int64 // absolute offset whose byte is flipped, -1 none
	rate        int64 // bytes per second per answer, 0 unlimited
	noValidator bool
	ranges      []string

	served   atomic.Int64
	requests atomic.Int64
	sndbuf   atomic.Int64
}

// NewUnstarted returns a server for c that the caller starts (Start or
// StartTLS, after setting TLS fields) and closes.
func NewUnstarted(c Content) *Server {
	s := &Server{content: c, corruptAt: -1, modTime: time.Unix(1700000000, 0)}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.handle))
	s.Server.Listener = &bufListener{Listener: s.Server.Listener, s: s}
	return s
}

// SetSendBuffer sets SO_SNDBUF on connections accepted from now on (0 =
// kernel default). Small buffers make Served close to what the client has
// actually received, for tests that count re-downloaded bytes.
func (s *Server) SetSendBuffer(n int) { s.sndbuf.Store(int64(n)) }

// bufListener applies the server's send buffer size to each connection.
type bufListener struct {
	net.Listener
	s *Server
}

// Accept implements net.Listener.
func (l *bufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if n := l.s.sndbuf.Load(); err == nil && n > 0 {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetWriteBuffer(int(n))
		}
	}
	return c, err
}

// New returns a started plain-http server for c; the caller closes it.
func New(c Content) *Server {
	s := NewUnstarted(c)
	s.Start()
	return s
}

// Push queues faults, one per coming request, in order.
func (s *Server) Push(f ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, f...)
}

// Always applies f to every request once the queue is empty (Kind None clears it).
func (s *Server) Always(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.always = f
}

// Corrupt flips the byte at offset off in every answer (-1 stops).
func (s *Server) Corrupt(off int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.corruptAt = off
}

// SetRate limits every answer to bytesPerSec (0 = unlimited).
func (s *Server) SetRate(bytesPerSec int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rate = bytesPerSec
}

// NoValidator stops sending ETag and Last-Modified.
func (s *Server) NoValidator() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noValidator = true
}

// Content returns the file currently served.
func (s *Server) Content() Content {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.content
}

// Served is the number of body bytes written to clients so far.
func (s *Server) Served() int64 { return s.served.Load() }

// Requests is the number of requests answered so far.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Ranges returns the Range header of every request so far ("" for none).
func (s *Server) Ranges() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ranges...)
}

// answer is what one request is served: a snapshot under the lock.
type answer struct {
	fault       Fault
	content     Content
	etag        string
	modTime     time.Time
	corruptAt   int64
	rate        int64
	noValidator bool
}

func (s *Server) next(r *http.Request) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ranges = append(s.ranges, r.Header.Get("Range"))
	f := s.always
	if len(s.queue) > 0 {
		f, s.queue = s.queue[0], s.queue[1:]
	}
	switch f.Kind {
	case Change:
		s.gen++
		s.content.Seed += 0x1000
		s.modTime = s.modTime.Add(time.Hour)
	case Resize:
		s.content.Size = f.N
	}
	return answer{f, s.content, fmt.Sprintf(`"fw-%d-%d"`, s.content.Seed, s.gen), s.modTime, s.corruptAt, s.rate, s.noValidator}
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	a := s.next(r)
	switch a.fault.Kind {
	case Status:
		if a.fault.RetryAfter != "" {
			w.Header().Set("Retry-After", a.fault.RetryAfter)
		}
		http.Error(w, http.StatusText(a.fault.Status), a.fault.Status)
		return
	case Endless:
		s.endless(w, r, a)
		return
	}
	if a.fault.Whole {
		r.Header.Del("Range")
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	mod := time.Time{}
	if !a.noValidator {
		w.Header().Set("ETag", a.etag)
		mod = a.modTime
	}
	var src io.ReaderAt = a.content
	if a.corruptAt >= 0 {
		src = corrupt{a.content, a.corruptAt}
	}
	cw := &faultWriter{ResponseWriter: w, r: r, s: s, a: a, start: time.Now()}
	http.ServeContent(cw, r, "", mod, io.NewSectionReader(src, 0, a.content.Size))
}

// endless answers 200 with a chunked body (no Content-Length) that repeats
// the content until the client leaves, paced by the rate.
func (s *Server) endless(w http.ResponseWriter, r *http.Request, a answer) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	cw := &faultWriter{ResponseWriter: w, r: r, s: s, a: a, start: time.Now()}
	buf := make([]byte, chunk)
	for off := int64(0); r.Context().Err() == nil; off += int64(len(buf)) {
		a.content.ReadAt(buf, off%max(a.content.Size, 1))
		if _, err := cw.Write(buf); err != nil {
			return
		}
	}
}

// corrupt flips one byte of its content.
type corrupt struct {
	c  Content
	at int64
}

func (c corrupt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.c.ReadAt(p, off)
	if c.at >= off && c.at < off+int64(n) {
		p[c.at-off] ^= 0xff
	}
	return n, err
}

// faultWriter paces, counts, cuts and stalls one answer's body.
type faultWriter struct {
	http.ResponseWriter
	r       *http.Request
	s       *Server
	a       answer
	start   time.Time
	written int64
}

const chunk = 16 << 10

// Write implements io.Writer.
func (w *faultWriter) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n := min(len(p)-done, w.step())
		if k := w.a.fault.Kind; (k == Cut || k == Stall) && w.written+int64(n) > w.a.fault.N {
			n = int(w.a.fault.N - w.written)
			if n <= 0 {
				return done, w.fail()
			}
		}
		m, err := w.ResponseWriter.Write(p[done : done+n])
		done += m
		w.written += int64(m)
		w.s.served.Add(int64(m))
		if err != nil {
			return done, err
		}
		if err := w.pace(); err != nil {
			return done, err
		}
	}
	return done, nil
}

// step is the most bytes written at once: a chunk, or an eighth of a
// second's worth under a rate limit (at least one byte), so that a slow
// rate is a steady trickle rather than bursts and pauses.
func (w *faultWriter) step() int {
	if w.a.rate <= 0 {
		return chunk
	}
	return int(min(max(w.a.rate/8, 1), chunk))
}

// fail ends the answer as the fault says.
func (w *faultWriter) fail() error {
	http.NewResponseController(w.ResponseWriter).Flush()
	if w.a.fault.Kind == Cut {
		panic(http.ErrAbortHandler) // net/http drops the connection without logging
	}
	<-w.r.Context().Done()
	return w.r.Context().Err()
}

// pace waits until the bytes written fit the rate.
func (w *faultWriter) pace() error {
	if w.a.rate <= 0 {
		return nil
	}
	due := w.start.Add(time.Duration(float64(w.written) / float64(w.a.rate) * float64(time.Second)))
	d := time.Until(due)
	if d <= 0 {
		return nil
	}
	http.NewResponseController(w.ResponseWriter).Flush()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-w.r.Context().Done():
		return w.r.Context().Err()
	}
}

// Header is here so that faultWriter keeps ServeContent's headers; it
// forwards to the real writer.
func (w *faultWriter) Header() http.Header { return w.ResponseWriter.Header() }

// Unwrap lets http.ResponseController reach the real writer.
func (w *faultWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
