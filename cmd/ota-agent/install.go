package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"ota-agent/agent"
	"ota-agent/agent/config"
	"ota-agent/agent/policy"
	"ota-agent/agent/trust"
	"ota-agent/transport"
)

func cmdInstall(ctx context.Context, e *env) error {
	fs := flag.NewFlagSet("install", flag.ContinueOnError)
	comp := fs.String("component", "", "component to install into (default: the only one)")
	md5 := fs.String("md5", "", "expected MD5 (hex)")
	sha := fs.String("sha256", "", "expected SHA-256 (hex)")
	ver := fs.String("version", "", "version being installed (default: the package's signed or manifest version, else manual-<UTC time>)")
	sigFile := fs.String("signature", "", "detached minisign signature of the package (default: fetched from URL"+config.DefaultSignatureSuffix+" for a URL)")
	args, err := e.flags("install", fs, 1)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return usagef("install: give one PATH or URL")
	}
	if why := policy.CheckVersion(strings.TrimSpace(*ver)); why != "" {
		return usagef("install: --version refused: %s (give a printable version of at most %d characters)", why, policy.MaxVersionLen)
	}
	bars := newBars(e)
	s, err := e.open(openMode{lock: true, api: true, targets: true, progress: bars.progressFunc()})
	if err != nil {
		return err
	}
	defer s.close()
	name, err := pickComponent(s, *comp)
	if err != nil {
		return err
	}
	of := transport.Offer{Component: name, Version: strings.TrimSpace(*ver), MD5: strings.ToLower(*md5), SHA256: strings.ToLower(*sha), UpgradeType: transport.Forced}
	if of.Version == "" {
		of.Version, of.VersionFromPackage = "manual-"+time.Now().UTC().Format("20060102T150405Z"), true
	}
	if *sigFile != "" {
		if of.Signature, err = trust.ReadSignature(*sigFile); err != nil {
			return usagef("install: --signature: %v", err)
		}
	}
	src := args[0]
	local := ""
	if u, perr := url.Parse(src); perr == nil && (u.Scheme == "http" || u.Scheme == "https") {
		of.URL = src
	} else {
		stop, u, err := serveLocal(src, s.cfg.Security.SignatureSuffix)
		if err != nil {
			return err
		}
		defer stop()
		of.URL, local = u, u
		if err := s.reopenLoopback(e, bars); err != nil {
			return err
		}
	}
	if _, err := s.ag.ResolvePending(ctx); err != nil {
		return err
	}
	out := s.ag.Install(ctx, of)
	bars.finish()
	s.ag.FlushReports(ctx)
	if out.Err != nil && local != "" { // name the file, not the loopback URL
		out.Err = errors.New(strings.ReplaceAll(out.Err.Error(), local, src))
	}
	printOutcomes(e.stdout, s.cfg, []agent.Outcome{out})
	return out.Err
}

func pickComponent(s *session, name string) (string, error) {
	if name != "" {
		if s.cfg.Component(name) == nil {
			return "", usagef("install: --component %s: no such component in %s", name, s.cfg.Path)
		}
		return name, nil
	}
	if len(s.cfg.Components) != 1 {
		return "", usagef("install: %d components configured; name one with --component", len(s.cfg.Components))
	}
	return s.cfg.Components[0].Name, nil
}

// serveLocal serves the file at path on 127.0.0.1 so that a local image
// takes the same verified download path as a remote one (one code path for
// digests, staging and slot streaming). stop shuts the server down.
func serveLocal(path, sigSuffix string) (stop func(), u string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("install: %w", err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, "", fmt.Errorf("install: %s is not a regular file", path)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Close()
		return nil, "", fmt.Errorf("install: serve %s on loopback: %w", path, err)
	}
	base := filepath.Base(path)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/" + base:
			http.ServeContent(w, r, base, fi.ModTime(), f)
		case "/" + base + sigSuffix: // a signature next to the file
			http.ServeFile(w, r, path+sigSuffix)
		default:
			http.NotFound(w, r)
		}
	})}
	go srv.Serve(ln)
	return func() { srv.Close(); f.Close() }, "http://" + ln.Addr().String() + "/" + url.PathEscape(base), nil
}

// reopenLoopback rebuilds the agent with an HTTP client that may fetch the
// plain-http loopback URL of serveLocal.
func (s *session) reopenLoopback(e *env, b *bars) error {
	cfg := *s.cfg
	cfg.Server.InsecureHTTP = true
	hc, err := agent.NewHTTPClient(&cfg)
	if err != nil {
		return err
	}
	targets, err := agent.NewTargets(s.cfg, e.log)
	if err != nil {
		return &usageError{err}
	}
	api, _ := agent.NewAPI(s.cfg, hc, e.log)
	s.ag, err = agent.New(agent.Options{Config: s.cfg, Store: s.store, Log: e.log, HTTP: hc, API: api, Targets: targets, Progress: b.progressFunc()})
	return err
}
