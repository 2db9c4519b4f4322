package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"ota-agent/agent/state"
)

// ErrNoDaemon means no daemon listens on <state_dir>/agent.sock; the caller
// then works on the state files directly.
var ErrNoDaemon = errors.New("no ota-agent daemon listening")

// Control is what the local API exposes; *Agent implements it.
type Control interface {
	Status(ctx context.Context) Status
	// Approve approves the held offers of component (all when component is
	// "") and returns the components approved.
	Approve(ctx context.Context, component string) ([]string, error)
	// Commit resolves a pending A/B install; it fails when the device booted
	// the old slot. It returns what it did, for people.
	Commit(ctx context.Context) (string, error)
	// Rollback abandons a pending A/B install.
	Rollback(ctx context.Context) (string, error)
}

// approveRequest is the body of POST /approve.
type approveRequest struct {
	Component string `json:"component"` // "" = all
}

// answer is the body of every local API reply.
type answer struct {
	Status   *Status  `json:"status,omitempty"`
	Approved []string `json:"approved,omitempty"`
	Message  string   `json:"message,omitempty"`
	Error    string   `json:"error,omitempty"`
}

// ListenLocal opens <stateDir>/agent.sock (mode 0660). Call it only while
// holding the state lock: a leftover socket from a killed daemon is removed.
func ListenLocal(stateDir string) (net.Listener, error) {
	path := filepath.Join(stateDir, state.SocketName)
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod %s: %w", path, err)
	}
	return ln, nil
}

// ServeLocal answers the local API on ln until ctx ends, then closes ln.
func ServeLocal(ctx context.Context, ln net.Listener, c Control) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		st := c.Status(r.Context())
		reply(w, answer{Status: &st}, nil)
	})
	mux.HandleFunc("POST /approve", func(w http.ResponseWriter, r *http.Request) {
		var req approveRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil {
			reply(w, answer{}, fmt.Errorf("bad approve request: %w", err))
			return
		}
		names, err := c.Approve(r.Context(), req.Component)
		reply(w, answer{Approved: names}, err)
	})
	mux.HandleFunc("POST /commit", func(w http.ResponseWriter, r *http.Request) {
		msg, err := c.Commit(r.Context())
		reply(w, answer{Message: msg}, err)
	})
	mux.HandleFunc("POST /rollback", func(w http.ResponseWriter, r *http.Request) {
		msg, err := c.Rollback(r.Context())
		reply(w, answer{Message: msg}, err)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func reply(w http.ResponseWriter, a answer, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		a.Error = err.Error()
		w.WriteHeader(http.StatusConflict)
	}
	_ = json.NewEncoder(w).Encode(a)
}

// LocalClient talks to a running daemon over <state_dir>/agent.sock. It
// implements the calls of Control, returning ErrNoDaemon when none listens.
type LocalClient struct {
	path string
	hc   *http.Client
}

// NewLocalClient returns a client for the daemon of stateDir. It does no I/O.
func NewLocalClient(stateDir string) *LocalClient {
	path := filepath.Join(stateDir, state.SocketName)
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}
	return &LocalClient{path: path, hc: &http.Client{Transport: tr}}
}

func (c *LocalClient) call(ctx context.Context, method, op string, body any) (answer, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://ota-agent/"+op, rd)
	if err != nil {
		return answer{}, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return answer{}, ErrNoDaemon
		}
		return answer{}, fmt.Errorf("local api %s on %s: %w", op, c.path, err)
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&a); err != nil {
		return answer{}, fmt.Errorf("local api %s on %s: bad answer (HTTP %d): %w", op, c.path, resp.StatusCode, err)
	}
	if a.Error != "" {
		return a, errors.New(a.Error)
	}
	return a, nil
}

// Status asks the daemon for its status.
func (c *LocalClient) Status(ctx context.Context) (Status, error) {
	a, err := c.call(ctx, http.MethodGet, "status", nil)
	if err != nil {
		return Status{}, err
	}
	if a.Status == nil {
		return Status{}, fmt.Errorf("local api status on %s: answer without status", c.path)
	}
	return *a.Status, nil
}

// Approve asks the daemon to approve held offers ("" = all).
func (c *LocalClient) Approve(ctx context.Context, component string) ([]string, error) {
	a, err := c.call(ctx, http.MethodPost, "approve", approveRequest{Component: component})
	return a.Approved, err
}

// Commit asks the daemon to commit a pending A/B install.
func (c *LocalClient) Commit(ctx context.Context) (string, error) {
	a, err := c.call(ctx, http.MethodPost, "commit", struct{}{})
	return a.Message, err
}

// Rollback asks the daemon to abandon a pending A/B install.
func (c *LocalClient) Rollback(ctx context.Context) (string, error) {
	a, err := c.call(ctx, http.MethodPost, "rollback", struct{}{})
	return a.Message, err
}
