package upgradelink

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSampleLossless decodes the seed's new-version sample and checks every
// field arrived.
func TestSampleLossless(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/upgradelink/configuration_new_version.json")
	if err != nil {
		t.Fatal(err)
	}
	env, err := decodeEnvelope(raw)
	if err != nil {
		t.Fatal(err)
	}
	if env.Code != 200 || env.Msg != "Получена новая версия" {
		t.Errorf("envelope = %d %q, want 200 \"Получена новая версия\"", env.Code, env.Msg)
	}
	s, err := decodeStrategy(env.Data)
	if err != nil {
		t.Fatal(err)
	}
	want := &Strategy{ConfigurationKey: "q1hfB1VUQaK9VksTZGPU1Q", VersionName: "v2", VersionCode: 2, UpgradeType: 1,
		PromptUpgradeContent: "Содержимое подсказки", Content: json.RawMessage(`{"test":1}`)}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("strategy (-want +got):\n%s", diff)
	}
	// Nothing in the sample's data is left unread.
	var all, back map[string]any
	json.Unmarshal(env.Data, &all)
	b, _ := json.Marshal(s)
	json.Unmarshal(b, &back)
	if diff := cmp.Diff(all, back); diff != "" {
		t.Errorf("fields lost (-sample +decoded):\n%s", diff)
	}
}

func TestPayload(t *testing.T) {
	for _, tt := range []struct{ in, want, err string }{
		{`{"test":1}`, `{"test":1}`, ""},
		{` {"a": [1, 2]} `, `{"a": [1, 2]}`, ""},
		{`"{\"a\":1}"`, `{"a":1}`, ""},
		{`null`, ``, "without content"},
		{``, ``, "without content"},
	} {
		got, err := payload(json.RawMessage(tt.in))
		if string(got) != tt.want || (err == nil) != (tt.err == "") {
			t.Errorf("payload(%s) = %q, %v; want %q, error %q", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// FuzzDecode feeds answers through the decoders and the offer mapping: no
// panic, and a decoded offer has a positive version.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/upgradelink/*.json")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"code":200,"data":{"lnxKey":"k","versionCode":3,"urlPath":"https://x/y","urlFileSize":10,"urlFileMd5":"D41D8CD98F00B204E9800998ECF8427E","upgradeType":2}}`))
	f.Add([]byte(`{"code":200,"data":{"versionCode":3,"content":"{\"a\":1}"}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		env, err := decodeEnvelope(raw)
		if err != nil || env.Code != 200 {
			return
		}
		for _, kind := range []string{"configuration", "file"} {
			c := New(Config{Kind: kind, Key: "k", Component: "c"})
			o, err := c.offer(env)
			if err == nil && (o.Version == "" || o.Version == "0") {
				t.Errorf("offer %+v from %q has no version", o, raw)
			}
		}
	})
}
