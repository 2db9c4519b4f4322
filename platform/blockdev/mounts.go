package blockdev

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// DefaultMounts is the kernel's list of this process's mounts.
const DefaultMounts = "/proc/self/mounts"

// Mount is one line of /proc/self/mounts.
type Mount struct {
	Device  string // e.g. /dev/mmcblk0p2
	Point   string // mount point, octal escapes (\040) decoded
	FSType  string
	Options string
}

// ParseMounts reads the /proc/self/mounts format (fstab syntax: six fields,
// spaces inside fields written as octal escapes such as \040).
func ParseMounts(r io.Reader) ([]Mount, error) {
	var ms []Mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) < 4 {
			return nil, fmt.Errorf("mounts line %d: %d fields, want at least 4 (device, point, type, options)", n, len(f))
		}
		ms = append(ms, Mount{Device: unescape(f[0]), Point: unescape(f[1]), FSType: f[2], Options: f[3]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	return ms, nil
}

// unescape decodes the octal escapes the kernel writes for space, tab,
// newline and backslash (\040, \011, \012, \134); other text is kept.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// RootDevice returns the device mounted at "/" (the last such mount wins, as
// later mounts hide earlier ones), or "" when there is none.
func RootDevice(ms []Mount) string {
	dev := ""
	for _, m := range ms {
		if m.Point == "/" {
			dev = m.Device
		}
	}
	return dev
}

// MountedAt returns the mount points where device path is mounted; a device
// matches by name or by being the same device node.
func MountedAt(ms []Mount, path string) []string {
	var pts []string
	for _, m := range ms {
		if m.Device == path || (strings.HasPrefix(m.Device, "/") && SameFile(m.Device, path)) {
			pts = append(pts, m.Point)
		}
	}
	return pts
}
