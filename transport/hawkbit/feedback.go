package hawkbit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"ota-agent/platform/printable"
	"ota-agent/transport"
)

// Feedback is the body of an action feedback POST (reference §6).
type Feedback struct {
	Status Status `json:"status"`
}

// Status is the status member of Feedback.
type Status struct {
	Execution string   `json:"execution"` // closed | proceeding | downloaded | rejected | …
	Result    Result   `json:"result"`
	Details   []string `json:"details,omitempty"`
}

// Result is status.result; Progress is sent with proceeding.
type Result struct {
	Finished string    `json:"finished"` // success | failure | none
	Progress *Progress `json:"progress,omitempty"`
}

// Progress counts chunks done out of chunks to do.
type Progress struct {
	Cnt int `json:"cnt"`
	Of  int `json:"of"`
}

// maxDetail bounds one detail line: hawkBit stores messages as text, and a
// long failure reason is cut rather than refused.
const maxDetail = 512

func feedback(exec, finished, detail string, p *Progress) Feedback {
	return Feedback{Status: Status{Execution: exec, Result: Result{Finished: finished, Progress: p},
		Details: []string{printable.Clip(detail, maxDetail)}}}
}

// post sends one feedback step of act to href unless it was delivered
// before, and records it. A 410 means the action is closed on the server:
// the step counts as done and the action as closed.
func (c *Client) post(ctx context.Context, act *action, step, href string, f Feedback) error {
	c.mu.Lock()
	sent := act.Sent[step]
	c.mu.Unlock()
	if sent {
		return nil
	}
	u, err := c.linkURL("feedback", href)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(f)
	_, status, err := c.do(ctx, "feedback "+step, http.MethodPost, u.String(), body)
	if status == http.StatusGone {
		c.log.Info("action already closed on the server", "action", act.ID, "step", step)
		err = nil
		act.Closed = true
	}
	if err != nil {
		return err
	}
	c.log.Info("feedback delivered", "action", act.ID, "step", step, "execution", f.Status.Execution, "finished", f.Status.Result.Finished)
	c.mu.Lock()
	defer c.mu.Unlock()
	act.Sent[step] = true
	if f.Status.Execution == "closed" {
		act.Closed = true
	}
	return c.saveLocked()
}

// Report implements transport.API: download and install events of an
// action's chunks become its feedback: proceeding with progress per chunk,
// then closed/success once every chunk is installed, or closed/failure at
// the first failure. A failure of a canceled action acknowledges the
// cancel instead. Reports of unknown actions are dropped (nil).
func (c *Client) Report(ctx context.Context, r transport.Report) error {
	act := c.actionOf(r.Extra)
	if act == nil || act.Closed {
		return nil
	}
	if !r.OK {
		return c.reportFailure(ctx, act, r)
	}
	if r.Event == transport.EventDownload {
		return c.reportDownloaded(ctx, act, r)
	}
	c.mu.Lock()
	delete(act.Pending, r.Component)
	left, done := len(act.Pending), act.Chunks-len(act.Pending)
	c.mu.Unlock()
	if left == 0 {
		return c.closeDone(ctx, act, fmt.Sprintf("installed %s %s", r.Component, r.Version))
	}
	return c.post(ctx, act, "installed:"+r.Component, act.Feedback,
		feedback("proceeding", "none", fmt.Sprintf("installed %s %s", r.Component, r.Version), &Progress{Cnt: done, Of: act.Chunks}))
}

// reportDownloaded sends proceeding for a verified download; for a
// component whose install cannot be stopped once downloaded (ab) the action
// is marked armed first, so a later cancel is rejected.
func (c *Client) reportDownloaded(ctx context.Context, act *action, r transport.Report) error {
	if c.cfg.ArmsOnDownload != nil && c.cfg.ArmsOnDownload(r.Component) {
		c.mu.Lock()
		act.Armed = true
		err := c.saveLocked()
		c.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return c.post(ctx, act, "downloaded:"+r.Component, act.Feedback,
		feedback("proceeding", "none", fmt.Sprintf("downloaded and verified %s %s; installing", r.Component, r.Version), c.progress(act)))
}

func (c *Client) progress(act *action) *Progress {
	c.mu.Lock()
	defer c.mu.Unlock()
	return &Progress{Cnt: act.Chunks - len(act.Pending), Of: act.Chunks}
}

// reportFailure closes the action with failure and the reason, unless the
// server canceled it meanwhile: then the cancel is acknowledged.
func (c *Client) reportFailure(ctx context.Context, act *action, r transport.Report) error {
	if href, ok := c.cancelPending(ctx, act.ID); ok {
		return c.cancel(ctx, href)
	}
	what := "install"
	if r.Event == transport.EventDownload {
		what = "download"
	}
	return c.post(ctx, act, "closed", act.Feedback,
		feedback("closed", "failure", fmt.Sprintf("%s of %s %s failed: %s", what, r.Component, r.Version, r.Reason), nil))
}

// closeDone closes an action whose chunks are all installed.
func (c *Client) closeDone(ctx context.Context, act *action, detail string) error {
	return c.post(ctx, act, "closed", act.Feedback, feedback("closed", "success", detail, nil))
}

// cancelPending polls the base and returns the cancelAction href when it
// names action id.
func (c *Client) cancelPending(ctx context.Context, id string) (string, bool) {
	b, _, err := c.do(ctx, "poll", http.MethodGet, c.BaseURL(), nil)
	if err != nil {
		return "", false
	}
	base, err := DecodeBase(b)
	if err != nil || base.Links.CancelAction == nil {
		return "", false
	}
	href := base.Links.CancelAction.Href
	return href, strings.HasSuffix(strings.SplitN(href, "?", 2)[0], "/"+id)
}

// cancel answers a cancelAction: closed/success when nothing is armed,
// rejected with the reason when the action passed the point of no return.
func (c *Client) cancel(ctx context.Context, href string) error {
	const op = "cancelAction"
	u, err := c.linkURL(op, href)
	if err != nil {
		return err
	}
	b, status, err := c.do(ctx, op, http.MethodGet, u.String(), nil)
	if status == http.StatusNotFound {
		return nil // no longer canceling: the next poll says what is left
	}
	if err != nil {
		return err
	}
	cn, err := DecodeCancel(b)
	if err != nil {
		return &transport.Error{API: apiName, Op: op, Msg: "GET " + u.Redacted() + ": " + transport.Snippet(b), Err: err}
	}
	id := cn.CancelAction.StopID
	fb := *u
	fb.RawQuery, fb.RawPath = "", ""
	fb.Path = strings.TrimSuffix(fb.Path, "/"+lastSegment(fb.Path)) + "/" + id + "/feedback"
	c.mu.Lock()
	act := c.st.get(id)
	if act == nil { // unknown to this device: acknowledge, as rauc-hawkbit-updater does
		act = &action{ID: id, Sent: map[string]bool{}}
		c.st.add(act)
	}
	armed := act.Armed
	c.mu.Unlock()
	if armed {
		return c.post(ctx, act, "cancel-rejected", fb.String(), feedback("rejected", "success",
			"cannot cancel: the new slot is already armed; the result follows on deploymentBase", nil))
	}
	if err := c.post(ctx, act, "cancel-closed", fb.String(), feedback("closed", "success", "canceled before install", nil)); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	act.Canceled, act.Closed = true, true
	return c.saveLocked()
}

func lastSegment(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// ResolveURL implements transport.URLResolver: called before each download
// attempt, it sends proceeding (download started, once per chunk) and
// returns the offer's URL unchanged. A canceled action's download is
// refused.
func (c *Client) ResolveURL(ctx context.Context, o transport.Offer) (string, error) {
	act := c.actionOf(o.Extra)
	if act == nil {
		return o.URL, nil
	}
	if act.Canceled {
		return "", &transport.Error{API: apiName, Op: "download", Msg: "action " + act.ID + " was canceled by the server"}
	}
	err := c.post(ctx, act, "download:"+o.Component, act.Feedback,
		feedback("proceeding", "none", fmt.Sprintf("downloading %s %s (%s)", o.Component, o.Version, o.Extra["file"]), c.progress(act)))
	if err != nil && !errors.Is(err, context.Canceled) {
		c.log.Warn("download feedback not delivered; downloading anyway", "action", act.ID, "err", err)
	}
	return o.URL, nil
}

// attributes are the configData sent: Config.Attributes plus
// "version.<component>" for each current version, values cut to 128
// characters (hawkBit's limit).
func (c *Client) attributes(dev transport.Device) map[string]string {
	out := map[string]string{}
	for k, v := range c.cfg.Attributes {
		out[k] = v
	}
	names := make([]string, 0, len(dev.Versions))
	for n := range dev.Versions {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if v := strings.TrimSpace(dev.Versions[n]); v != "" {
			out["version."+n] = v
		}
	}
	for k, v := range out {
		if len(k) > 128 || k == "" {
			delete(out, k)
		} else if len(v) > 128 {
			out[k] = v[:128]
		}
	}
	return out
}

// sendConfigData PUTs the device attributes (mode merge) to href.
func (c *Client) sendConfigData(ctx context.Context, href string, dev transport.Device) error {
	u, err := c.linkURL("configData", href)
	if err != nil {
		return err
	}
	attrs := c.attributes(dev)
	if len(attrs) == 0 {
		return nil
	}
	body, _ := json.Marshal(map[string]any{"mode": "merge", "data": attrs})
	if _, _, err := c.do(ctx, "configData", http.MethodPut, u.String(), body); err != nil {
		return err
	}
	c.log.Info("configData sent", "attributes", len(attrs))
	return nil
}
