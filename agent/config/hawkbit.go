package config

// Hawkbit is [server.hawkbit] (Eclipse hawkBit DDI).
type Hawkbit struct {
	Tenant           string `toml:"tenant"`
	ControllerID     string `toml:"controller_id"` // "" = device.id
	TargetTokenFile  string `toml:"target_token_file"`
	GatewayTokenFile string `toml:"gateway_token_file"`
	// Chunks maps a deployment chunk's name or part to a component.
	Chunks map[string]string `toml:"chunks"`

	Token string `toml:"-"` // read from TargetTokenFile or GatewayTokenFile; secret
}

// Gateway reports whether the token is the tenant's gateway token.
func (h Hawkbit) Gateway() bool { return h.TargetTokenFile == "" && h.GatewayTokenFile != "" }

// checkHawkbit checks [server.hawkbit]: base_url, tenant, exactly one
// token file, a controller id, and chunks naming components.
func (l *loader) checkHawkbit(c *Config) *Error {
	h := c.Server.Hawkbit
	if m := checkURL(c.Server.BaseURL, c.Server.InsecureHTTP); m != "" {
		return l.at("server.base_url", "%s (the hawkBit server root, e.g. \"https://hawkbit.example.com\")", m)
	}
	if err := l.required("server.hawkbit.tenant", h.Tenant); err != nil {
		return err
	}
	switch {
	case (h.TargetTokenFile == "") == (h.GatewayTokenFile == ""):
		return l.at("server.hawkbit.target_token_file", "set exactly one of target_token_file and gateway_token_file")
	case h.ControllerID == "" && c.Device.ID == "":
		return l.at("server.hawkbit.controller_id", "is required when device.id is not set (the hawkBit controllerId)")
	case len(h.ControllerID) > 256 || len(c.Device.ID) > 256:
		return l.at("server.hawkbit.controller_id", "is longer than 256 characters (hawkBit answers 400)")
	case len(h.Chunks) == 0:
		return l.at("server.hawkbit.chunks", "is empty (map a chunk name or part to a component, e.g. { os = \"rootfs\" })")
	}
	for _, k := range sortedKeys(h.Chunks) {
		if err := l.checkRef(c, "server.hawkbit.chunks."+k, h.Chunks[k], true); err != nil {
			return err
		}
	}
	return nil
}

// hawkbitSecret returns the key, path and destination of the token file.
func hawkbitSecret(c *Config) (string, *string, *string) {
	h := &c.Server.Hawkbit
	if h.Gateway() {
		return "server.hawkbit.gateway_token_file", &h.GatewayTokenFile, &h.Token
	}
	return "server.hawkbit.target_token_file", &h.TargetTokenFile, &h.Token
}
