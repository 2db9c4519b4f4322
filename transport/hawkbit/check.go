package hawkbit

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"ota-agent/transport"
)

// Check implements transport.API: it polls the controller base, remembers
// its sleep, sends configData when asked, answers a cancelAction, and
// turns a deploymentBase into one offer per chunk. Every failure is a
// *transport.Error.
func (c *Client) Check(ctx context.Context, dev transport.Device) ([]transport.Offer, error) {
	const op = "poll"
	b, _, err := c.do(ctx, op, http.MethodGet, c.BaseURL(), nil)
	if err != nil {
		return nil, err
	}
	base, err := DecodeBase(b)
	if err != nil {
		return nil, &transport.Error{API: apiName, Op: op, Msg: "GET " + c.BaseURL() + ": " + transport.Snippet(b), Err: err}
	}
	c.setSleep(base.Config.Polling.Sleep)
	l := base.Links
	if l.ConfigData != nil {
		if err := c.sendConfigData(ctx, l.ConfigData.Href, dev); err != nil {
			c.log.Warn("configData not sent; the server asks again on the next poll", "err", err)
		}
	}
	switch {
	case l.CancelAction != nil:
		return nil, c.cancel(ctx, l.CancelAction.Href)
	case l.ConfirmationBase != nil:
		c.log.Info("the action waits for confirmation on the server; confirm it there", "url", l.ConfirmationBase.Href)
		return nil, nil
	case l.DeploymentBase != nil:
		return c.deployment(ctx, l.DeploymentBase.Href, dev)
	}
	return nil, nil
}

// setSleep records the server's polling sleep, clamped to
// [MinSleep, MaxSleep]; a missing or unreadable one falls back to
// DefaultSleep.
func (c *Client) setSleep(s string) {
	d, err := ParseSleep(s)
	if err != nil {
		if s != "" {
			c.log.Warn("polling sleep not understood; using the default", "sleep", s, "wait", DefaultSleep, "err", err)
		}
		d = DefaultSleep
	}
	c.mu.Lock()
	c.sleep = min(max(d, MinSleep), MaxSleep)
	c.mu.Unlock()
}

// NextPoll implements transport.Poller: the server's last polling sleep.
func (c *Client) NextPoll() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sleep, c.sleep > 0
}

// deployment fetches a deploymentBase and maps it to offers.
func (c *Client) deployment(ctx context.Context, href string, dev transport.Device) ([]transport.Offer, error) {
	const op = "deploymentBase"
	u, err := c.checkLink(op, href)
	if err != nil {
		return nil, &transport.Error{API: apiName, Op: op, Msg: err.Error()}
	}
	b, status, err := c.do(ctx, op, http.MethodGet, u.String(), nil)
	if status == http.StatusNotFound {
		c.log.Info("deployment gone (canceled or waiting for confirmation); polling again", "url", u.Redacted())
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	d, err := DecodeDeployment(b)
	if err == nil && path.Base(u.Path) != d.ID {
		err = fmt.Errorf("deploymentBase: id %q differs from the link's action %q", d.ID, path.Base(u.Path))
	}
	if err != nil {
		return nil, &transport.Error{API: apiName, Op: op, Msg: "GET " + u.Redacted() + ": " + transport.Snippet(b), Err: err}
	}
	fb := *u
	fb.RawQuery, fb.Path, fb.RawPath = "", u.Path+"/feedback", ""
	return c.offers(ctx, d, fb.String(), dev)
}

// offers maps a deployment to offers (one per chunk) and remembers the
// action. Modes that do not install now give refused offers with the reason.
func (c *Client) offers(ctx context.Context, d Deployment, feedback string, dev transport.Device) ([]transport.Offer, error) {
	out := make([]transport.Offer, 0, len(d.Deployment.Chunks))
	for i, ch := range d.Deployment.Chunks {
		out = append(out, c.chunkOffer(d, i, ch, feedback))
	}
	act, err := c.remember(d.ID, feedback, out, dev)
	if err != nil {
		return nil, err
	}
	dep := d.Deployment
	why := ""
	switch {
	case act.Closed:
		why = "action " + d.ID + " is already closed on this device"
	case dep.Download == ModeSkip:
		why = "the server says download: skip; waiting"
	case dep.Update == ModeSkip && dep.MaintenanceWindow == "unavailable":
		why = "the maintenance window is closed (update: skip); waiting for it to open"
	case dep.Update == ModeSkip:
		why = "download-only action: update downloads and verifies it, never installs it"
		markDownloadOnly(out)
	case len(act.Pending) == 0:
		if err := c.closeDone(ctx, act, "every chunk already installed"); err != nil {
			return nil, err
		}
		why = "already installed; action " + d.ID + " closed"
	}
	for i := range out {
		if why != "" && out[i].Refused == "" {
			out[i].Refused = why
		}
	}
	return out, nil
}

// chunkOffer turns chunk i into an offer; a chunk the agent cannot take
// comes back refused with the reason.
func (c *Client) chunkOffer(d Deployment, i int, ch Chunk, feedback string) transport.Offer {
	o := transport.Offer{Version: strings.TrimSpace(ch.Version), ID: d.ID, Notes: strings.TrimSpace(ch.Name),
		Extra: map[string]string{"action": d.ID, "feedback": feedback, "chunk": ch.Name, "part": ch.Part}}
	o.Component = c.componentFor(ch)
	o.UpgradeType = transport.Prompt
	if d.Deployment.Update == ModeForced {
		o.UpgradeType = transport.Forced
	}
	switch {
	case o.Component == "":
		o.Refused = fmt.Sprintf("chunk %q (part %q) maps to no component; add it to server.hawkbit.chunks", ch.Name, ch.Part)
	case o.Version == "":
		o.Refused = fmt.Sprintf("chunk %q has no version", ch.Name)
	case ch.Encrypted:
		o.Refused = fmt.Sprintf("chunk %q is encrypted; ota-agent cannot decrypt hawkBit artifacts", ch.Name)
	case len(ch.Artifacts) != 1:
		o.Refused = fmt.Sprintf("chunk %q has %d artifacts; want exactly one image per chunk", ch.Name, len(ch.Artifacts))
	default:
		o.Refused = c.artifact(&o, ch.Artifacts[0])
	}
	return o
}

// componentFor maps a chunk by name, else by part.
func (c *Client) componentFor(ch Chunk) string {
	if comp, ok := c.cfg.Chunks[ch.Name]; ok && ch.Name != "" {
		return comp
	}
	return c.cfg.Chunks[ch.Part]
}

// artifact fills the offer from its artifact and returns why it is
// refused, or "".
func (c *Client) artifact(o *transport.Offer, a Artifact) string {
	link := a.Links.Download
	if link == nil {
		link = a.Links.DownloadHTTP
	}
	if link == nil {
		return fmt.Sprintf("artifact %q has no download or download-http link", a.Filename)
	}
	u, err := c.checkLink("download", link.Href)
	if err != nil {
		return "artifact " + strconv.Quote(a.Filename) + ": " + err.Error()
	}
	h := a.Hashes
	if h.MD5 == "" && h.SHA256 == "" {
		return fmt.Sprintf("artifact %q has no md5 or sha256 (sha1 alone is not verified by ota-agent)", a.Filename)
	}
	o.URL, o.Size = u.String(), a.Size
	o.MD5, o.SHA256 = strings.ToLower(h.MD5), strings.ToLower(h.SHA256)
	o.Extra["file"], o.Extra["sha1"] = a.Filename, strings.ToLower(h.SHA1)
	return ""
}

// remember records the action and which of its offers still need
// installing: mapped chunks whose version differs from the current one.
func (c *Client) remember(id, feedback string, offers []transport.Offer, dev transport.Device) (*action, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	act := c.st.get(id)
	if act == nil {
		act = &action{ID: id, Sent: map[string]bool{}}
		c.st.add(act)
	}
	act.Feedback, act.Pending, act.Chunks = feedback, map[string]string{}, 0
	for _, o := range offers {
		if o.Refused != "" {
			continue
		}
		act.Chunks++
		if strings.TrimSpace(dev.Versions[o.Component]) != o.Version {
			act.Pending[o.Component] = o.Version
		}
	}
	return act, c.saveLocked()
}

func (c *Client) saveLocked() error {
	if err := c.st.save(); err != nil {
		return configError("state", err.Error())
	}
	return nil
}

// actionOf returns the remembered action of an offer or report, nil if none.
func (c *Client) actionOf(extra map[string]string) *action {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.get(extra["action"])
}

// linkURL parses a link on the base host, as a *transport.Error otherwise.
func (c *Client) linkURL(op, href string) (*url.URL, error) {
	u, err := c.checkLink(op, href)
	if err != nil {
		return nil, &transport.Error{API: apiName, Op: op, Msg: err.Error()}
	}
	return u, nil
}
