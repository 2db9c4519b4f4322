package download

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// childEnv names the environment variable that turns the test binary into
// a download child (for SIGKILL and peak-RSS runs in a separate process).
const childEnv = "OTA_DOWNLOAD_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "" {
		os.Exit(m.Run())
	}
	if err := childFetch(); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// childFetch downloads $URL into $DEST with journal $JOURNAL.
func childFetch() error {
	size, _ := strconv.ParseInt(os.Getenv("SIZE"), 10, 64)
	sync, _ := strconv.ParseInt(os.Getenv("SYNC"), 10, 64)
	c, err := NewHTTPClient(TLSConfig{InsecureHTTP: true})
	if err != nil {
		return err
	}
	if n, _ := strconv.Atoi(os.Getenv("RCVBUF")); n > 0 {
		// A small receive buffer bounds the bytes in flight at a kill, so the
		// server's count measures the journal, not the kernel's buffering.
		d := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n) })
		}}
		c.Transport.(*schemeGuard).next.(*http.Transport).DialContext = d.DialContext
	}
	f, err := os.OpenFile(os.Getenv("DEST"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	o := Options{Client: c, SyncEvery: sync, MinSyncGap: -1, StallTimeout: 10 * time.Second, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond}
	req := Request{URL: os.Getenv("URL"), Size: size, SHA256: os.Getenv("SHA256"), Journal: os.Getenv("JOURNAL")}
	_, err = Fetch(context.Background(), o, req, f, nil)
	return err
}

// childRcvBuf is the child's SO_RCVBUF (the kernel doubles it).
const childRcvBuf = 128 << 10

// childCmd returns the test binary re-run as a download child.
func childCmd(url, dest, journal string, size int64, sha string, sync int64) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", "URL="+url, "DEST="+dest, "JOURNAL="+journal,
		"SIZE="+strconv.FormatInt(size, 10), "SHA256="+sha, "SYNC="+strconv.FormatInt(sync, 10), "RCVBUF="+strconv.Itoa(childRcvBuf))
	return cmd
}
