package aliyun_test

import (
	"errors"
	"strings"
	"testing"

	"ota-agent/transport"
	"ota-agent/transport/aliyun"
	"ota-agent/transport/aliyun/aliyuntest"
)

// semverish orders "1.10.0" after "1.9.0" for the selection tests; the agent
// passes policy.Compare under policy.version_scheme.
func semverish(a, b string) (int, error) {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	if len(pa) != len(pb) {
		return 0, errors.New("cannot be ordered")
	}
	for i := range pa {
		if len(pa[i]) != len(pb[i]) {
			if len(pa[i]) < len(pb[i]) {
				return -1, nil
			}
			return 1, nil
		}
		if c := strings.Compare(pa[i], pb[i]); c != 0 {
			return c, nil
		}
	}
	return 0, nil
}

// TestNewestByVersion: a later-uploaded older package does not hide the
// newer one (issue 16 item 9); upload time breaks ties and unorderable
// pairs.
func TestNewestByVersion(t *testing.T) {
	e, c := setup(t, false, func(c *aliyun.Config) { c.Compare = semverish })
	add := func(id, v, at string) {
		e.srv.AddFirmware(aliyuntest.Firmware{ID: id, ProductKey: "a19mzPZabcd", DestVersion: v, Status: 1, UtcCreate: at, Data: []byte(id)})
	}
	add("newest", "1.10.0", "2024-01-01T00:00:00.000Z")
	add("hotfix-of-old", "1.9.0", "2024-06-01T00:00:00.000Z")
	add("same-version-later", "1.10.0", "2024-03-01T00:00:00.000Z")
	add("unorderable-later", "2024-build", "2024-02-01T00:00:00.000Z")
	got, err := c.Check(t.Context(), device("1.0.0", "1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	if got = accepted(got); len(got) != 1 || got[0].ID != "same-version-later" {
		t.Errorf("Check = %+v, want the 1.10.0 uploaded last (same-version-later)", got)
	}
}

// TestMultiFileRefused: a multi-file package is refused with a reason that
// says so, not as a malformed MD5 (issue 16 item 11).
func TestMultiFileRefused(t *testing.T) {
	e, c := setup(t, false, nil)
	e.srv.AddFirmware(aliyuntest.Firmware{ID: "M1", ProductKey: "a19mzPZabcd", DestVersion: "2.0.0", Status: 1,
		Files: []aliyuntest.File{{Name: "kernel", Data: []byte("k")}, {Name: "rootfs", Data: []byte("r")}}})
	got, err := c.Check(t.Context(), device("1.0.0", "1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	want := "a multi-file package (MultiFiles, no single FirmwareSign); multi-file packages are not supported: upload one file per package and module"
	if len(got) != 1 || got[0].ID != "M1" || got[0].Component != "rootfs" || got[0].Refused != want {
		t.Errorf("Check = %+v, want M1 for rootfs refused: %s", got, want)
	}
}

// TestIotInstanceID: an enterprise instance id goes into every signed call
// (issue 16 item 13); without one it is left out.
func TestIotInstanceID(t *testing.T) {
	for _, id := range []string{"iot-cn-0pp1n8t1234", ""} {
		e, c := setup(t, false, func(c *aliyun.Config) { c.IotInstanceID = id })
		e.srv.AddFirmware(aliyuntest.Firmware{ID: "A1", ProductKey: "a19mzPZabcd", DestVersion: "2.0.0", Status: 1, Data: []byte("a")})
		got, err := c.Check(t.Context(), device("1.0.0", "1.0.0"))
		if err != nil || len(got) != 1 {
			t.Fatalf("Check = %+v, %v", got, err)
		}
		if _, err := c.ResolveURL(t.Context(), got[0]); err != nil {
			t.Fatal(err)
		}
		for _, r := range e.srv.Requests() {
			if v, ok := r.Params["IotInstanceId"]; v != id || (id == "" && ok) {
				t.Errorf("id %q: %s sent IotInstanceId %q (present %v)", id, r.Action, v, ok)
			}
		}
		checkRequests(t, e.srv) // signed with it: no SignatureDoesNotMatch
	}
}

// TestDroppedCallNotResent: a call whose connection is dropped after it
// reached the server fails as a retryable network error; it is never resent
// with the same SignatureNonce (answered SignatureNonceUsed), and the next
// call gets a fresh nonce and works (issue 16 item 12).
func TestDroppedCallNotResent(t *testing.T) {
	e, c := setup(t, false, func(c *aliyun.Config) { c.Client = nil })
	e.srv.AddFirmware(aliyuntest.Firmware{ID: "A1", ProductKey: "a19mzPZabcd", DestVersion: "2.0.0", Status: 1, Data: []byte("a")})
	if _, err := c.Check(t.Context(), device("1.0.0", "1.0.0")); err != nil {
		t.Fatal(err) // leaves a keep-alive connection behind, before the fix
	}
	e.srv.DropNext("ListOTAFirmware", 1)
	_, err := c.Check(t.Context(), device("1.0.0", "1.0.0"))
	var te *transport.Error
	if !errors.As(err, &te) || !te.Retryable || te.Code != "" || strings.Contains(err.Error(), "SignatureNonceUsed") {
		t.Fatalf("Check after a dropped call = %v, want a retryable network error (no server code)", err)
	}
	if got, err := c.Check(t.Context(), device("1.0.0", "1.0.0")); err != nil || len(got) != 1 {
		t.Fatalf("Check after the drop = %+v, %v; want the offer", got, err)
	}
	seen := map[string]int{}
	for _, r := range e.srv.Requests() {
		seen[r.Params["SignatureNonce"]]++
		if r.Code == "SignatureNonceUsed" {
			t.Errorf("%s answered SignatureNonceUsed: a signed request was resent", r.Action)
		}
	}
	for n, k := range seen {
		if k > 1 {
			t.Errorf("nonce %s reached the server %d times", n, k)
		}
	}
}
