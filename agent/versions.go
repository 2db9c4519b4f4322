package agent

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"ota-agent/agent/config"
	"ota-agent/agent/state"
)

// versionCommandTimeout bounds a component's version_command.
const versionCommandTimeout = 10 * time.Second

// CurrentVersion returns the version component c runs: the one the agent
// installed (state), else the configured version, else the trimmed output of
// version_command.
func CurrentVersion(ctx context.Context, c *config.Component, st *state.State) (string, error) {
	if cs := st.Components[c.Name]; cs != nil && cs.Version != "" {
		return cs.Version, nil
	}
	if c.Version != "" || len(c.VersionCommand) == 0 {
		return strings.TrimSpace(c.Version), nil
	}
	ctx, cancel := context.WithTimeout(ctx, versionCommandTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, c.VersionCommand[0], c.VersionCommand[1:]...).Output()
	if err != nil {
		return "", fmt.Errorf("component %s: version_command %q: %w; check the command runs and prints the version", c.Name, strings.Join(c.VersionCommand, " "), err)
	}
	v := strings.TrimSpace(string(out))
	if v == "" {
		return "", fmt.Errorf("component %s: version_command %q printed nothing; it must print the current version", c.Name, strings.Join(c.VersionCommand, " "))
	}
	return v, nil
}

// Versions returns the current version of every component (see
// CurrentVersion). A component whose version cannot be found is left out and
// its error returned with the others joined.
func Versions(ctx context.Context, cfg *config.Config, st *state.State) (map[string]string, error) {
	out := map[string]string{}
	var errs []error
	for i := range cfg.Components {
		c := &cfg.Components[i]
		v, err := CurrentVersion(ctx, c, st)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[c.Name] = v
	}
	return out, errors.Join(errs...)
}
