package upgradelink_test

import (
	"strings"
	"testing"

	"ota-agent/transport/upgradelink"
)

const (
	vecSecret = "89c8b3d5f2a74e1b"
	vecTS     = "2025-02-17T10:34:55+08:00"
)

// vectors are UL-1…UL-5 of seed-apis.md §5.1.
var vectors = []struct {
	name, body, nonce, ts, uri, want string
}{
	{"UL-1", `{"key": "key1","versionCode": 1,"appointVersionCode": 0}`, "abcdef1234567890", vecTS, "/v1/url/upgrade", "6469e84b874ef77136eb3adef58b4282"},
	{"UL-2", "", "abcdef1234567890", vecTS, "/v1/url/upgrade", "cb862d6e9f7df5a28214706de5f0346a"},
	{"UL-3", `{"configurationKey":"q1hfB1VUQaK9VksTZGPU1Q","versionCode":1,"appointVersionCode":0,"devModelKey":"stv1","devKey":"LOYlLXNy7w"}`, "fc812cc0b9b51e8c", vecTS, "/v1/configuration/upgrade", "22cdbf2e9de5ad4497657693abcffd97"},
	{"UL-4", `{"fileKey":"LOYlLXNy7wV3ySuh0XgtSg","versionCode":1,"appointVersionCode":0,"devModelKey":"stv1","devKey":"LOYlLXNy7w"}`, "fc812cc0b9b51e8c", vecTS, "/v1/file/upgrade", "c678336c5d71682095840b513335c94d"},
	{"UL-5", `{"eventType":"app_upgrade_upgrade","appKey":"LOYlLXNy7wV3ySuh0XgtSg","timestamp":"2025-02-17T10:40:00+08:00","eventData":{"versionCode":1,"devModelKey":"stv1","devKey":"LOYlLXNy7w","upgradeVersionCode":2,"code":0}}`, "0123456789abcdef", "2025-02-17T10:40:01+08:00", "/v1/app/report", "e763da9c2317d245cf2c25a1f297e249"},
}

func TestSignVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			if got := upgradelink.Sign(vecSecret, []byte(v.body), v.nonce, v.ts, v.uri); got != v.want {
				t.Errorf("Sign = %s, want %s", got, v.want)
			}
		})
	}
}

// TestSignStringLiterals checks the two strings the docs print (UL-1, UL-2)
// and UL-4's full signStr.
func TestSignStringLiterals(t *testing.T) {
	tests := []struct{ got, want string }{
		{upgradelink.SignString(vecSecret, []byte(vectors[0].body), vectors[0].nonce, vecTS, vectors[0].uri),
			`body={"key": "key1","versionCode": 1,"appointVersionCode": 0}&nonce=abcdef1234567890&secretKey=89c8b3d5f2a74e1b&timestamp=2025-02-17T10:34:55+08:00&url=/v1/url/upgrade`},
		{upgradelink.SignString(vecSecret, nil, vectors[1].nonce, vecTS, vectors[1].uri),
			`nonce=abcdef1234567890&secretKey=89c8b3d5f2a74e1b&timestamp=2025-02-17T10:34:55+08:00&url=/v1/url/upgrade`},
		{upgradelink.SignString(vecSecret, []byte(vectors[3].body), vectors[3].nonce, vecTS, vectors[3].uri),
			`body={"fileKey":"LOYlLXNy7wV3ySuh0XgtSg","versionCode":1,"appointVersionCode":0,"devModelKey":"stv1","devKey":"LOYlLXNy7w"}&nonce=fc812cc0b9b51e8c&secretKey=89c8b3d5f2a74e1b&timestamp=2025-02-17T10:34:55+08:00&url=/v1/file/upgrade`},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("SignString #%d = %q, want %q", i, tt.got, tt.want)
		}
	}
}

// TestSignOneByteChange flips each input of every vector by one byte: the
// signature must change.
func TestSignOneByteChange(t *testing.T) {
	flip := func(s string) string {
		if s == "" {
			return " "
		}
		b := []byte(s)
		b[len(b)/2] ^= 1
		return string(b)
	}
	for _, v := range vectors {
		for _, c := range []struct {
			what                         string
			secret, body, nonce, ts, uri string
		}{
			{"body", vecSecret, flip(v.body), v.nonce, v.ts, v.uri},
			{"nonce", vecSecret, v.body, flip(v.nonce), v.ts, v.uri},
			{"secret", flip(vecSecret), v.body, v.nonce, v.ts, v.uri},
			{"timestamp", vecSecret, v.body, v.nonce, flip(v.ts), v.uri},
			{"url", vecSecret, v.body, v.nonce, v.ts, flip(v.uri)},
		} {
			if got := upgradelink.Sign(c.secret, []byte(c.body), c.nonce, c.ts, c.uri); got == v.want {
				t.Errorf("%s with one byte of %s changed still signs as %s", v.name, c.what, got)
			}
		}
		if strings.ToUpper(v.want) == v.want {
			t.Errorf("%s: want is not lower-case hex", v.name)
		}
	}
}
