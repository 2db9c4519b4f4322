package upgradelinktest

// The sample bodies of seed-apis.md §3.6, byte for byte (the same bytes are
// in testdata/upgradelink/). Serve them with Enqueue.
var (
	// SampleRequest is the seed's configuration request body.
	SampleRequest = []byte(`{"configurationKey":"q1hfB1VUQaK9VksTZGPU1Q","versionCode":1,"appointVersionCode":0,"devModelKey":"stv1","devKey":"LOYlLXNy7w"}`)
	// SampleNewVersion is the seed's configuration answer with a new version (HTTP 200).
	SampleNewVersion = []byte(`{"code":200,"msg":"Получена новая версия","data":{"configurationKey":"q1hfB1VUQaK9VksTZGPU1Q","versionName":"v2","versionCode":2,"upgradeType":1,"promptUpgradeContent":"Содержимое подсказки","content":{"test":1}}}`)
	// SampleLatest is the self-hosted server's "already latest" answer (HTTP 200).
	SampleLatest = []byte(`{"code":0,"msg":"已经是最新版本","docs":"","data":{"configurationKey":"","versionName":"","versionCode":0,"upgradeType":0,"promptUpgradeContent":"","content":null}}`)
	// SampleError404 is the seed's error answer (HTTP 404).
	SampleError404 = []byte(`{"code":404001,"msg":"Доступная версия не получена","docs":"…/upgrade/recommend/url/app-version.html","data":null}`)
)
