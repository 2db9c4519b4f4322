package main

import (
	"context"
	"errors"
	"flag"
	"net/http"
	"net/url"
	"strings"
	"time"

	"ota-agent/agent"
	"ota-agent/agent/config"
	"ota-agent/agent/policy"
	"ota-agent/agent/trust"
	"ota-agent/transport"
	"ota-agent/transport/download"
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
	mode := openMode{lock: true, api: true, targets: true, progress: bars.progressFunc()}
	src, local := args[0], ""
	if u, perr := url.Parse(src); perr != nil || (u.Scheme != "http" && u.Scheme != "https") {
		var files *download.LocalFiles
		defer func() {
			if files != nil {
				files.Close()
			}
		}()
		mode.transport = func(cfg *config.Config, next http.RoundTripper) (http.RoundTripper, error) {
			var err error
			files, local, err = download.NewLocalFiles(src, cfg.Security.SignatureSuffix, next)
			return files, err
		}
	}
	s, err := e.open(mode)
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
	of.URL = src
	if local != "" {
		of.URL = local
	}
	if _, err := s.ag.ResolvePending(ctx); err != nil {
		return err
	}
	out := s.ag.Install(ctx, of)
	bars.finish()
	s.ag.FlushReports(ctx)
	if out.Err != nil && local != "" { // name the file, not the URL LocalFiles answers
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
