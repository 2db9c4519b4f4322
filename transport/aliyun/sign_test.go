package aliyun_test

import (
	"testing"

	"ota-agent/transport/aliyun"
)

func pop1() map[string]string {
	return map[string]string{"AccessKeyId": "testid", "Action": "DescribeRegions", "Format": "XML", "SignatureMethod": "HMAC-SHA1",
		"SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", "SignatureVersion": "1.0", "Timestamp": "2016-02-23T12:46:24Z", "Version": "2014-05-26"}
}

func pop2() map[string]string {
	p := pop1()
	p["TimeStamp"] = p["Timestamp"]
	delete(p, "Timestamp")
	return p
}

func pop3() map[string]string {
	return map[string]string{"Action": "Pub", "MessageContent": "aGVsbG93b3JsZA=", "Timestamp": "2017-10-02T09:39:41Z", "SignatureVersion": "1.0",
		"ServiceCode": "iot", "Format": "XML", "Qos": "0", "SignatureNonce": "0715a395-aedf-4a41-bab7-746b43d38d88", "Version": "2017-04-20",
		"AccessKeyId": "testid", "SignatureMethod": "HMAC-SHA1", "RegionId": "cn-shanghai", "ProductKey": "12345abcdeZ", "TopicFullName": "/productKey/testdevice/get"}
}

func pop4() map[string]string {
	return map[string]string{"Action": "ListOTAFirmware", "CurrentPage": "1", "PageSize": "10", "ProductKey": "a19mzPZabcd", "DestVersion": "4.0.0",
		"Format": "JSON", "Version": "2018-01-20", "AccessKeyId": "testid", "SignatureMethod": "HMAC-SHA1", "Timestamp": "2024-11-19T09:47:43Z",
		"SignatureVersion": "1.0", "SignatureNonce": "9e6189124f5a4716ad2de849467b0000", "RegionId": "cn-shanghai"}
}

// vectors are POP-1…POP-4 of seed-apis.md §5.2.
var vectors = []struct {
	name, method string
	params       func() map[string]string
	want         string
}{
	{"POP-1", "GET", pop1, "OLeaidS1JvxuMvnyHOwuJ+uX5qY="},
	{"POP-1b", "POST", pop1, "MxbnVAM4w6sft9xjVpe/GCKueuk="},
	{"POP-2", "GET", pop2, "CT9X0VtwR86fNWSnsc6v8YGOjuE="},
	{"POP-3", "GET", pop3, "Y9eWn4nF8QPh3c4zAFkM/k/u7eA="},
	{"POP-4", "GET", pop4, "jSOCRsg1WBbvPM/PLHnbRpAj+sQ="},
}

func TestSignVectors(t *testing.T) {
	for _, v := range vectors {
		if got := aliyun.Sign(v.method, v.params(), "testsecret"); got != v.want {
			t.Errorf("%s: Sign = %s, want %s", v.name, got, v.want)
		}
	}
	if got := aliyun.PercentEncode(aliyun.Sign("GET", pop4(), "testsecret")); got != "jSOCRsg1WBbvPM%2FPLHnbRpAj%2BsQ%3D" {
		t.Errorf("POP-4 signature in the URL = %s, want jSOCRsg1WBbvPM%%2FPLHnbRpAj%%2BsQ%%3D", got)
	}
}

func TestIntermediateStrings(t *testing.T) {
	tests := []struct{ name, got, want string }{
		{"POP-1 StringToSign", aliyun.StringToSign("GET", pop1()),
			"GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"},
		{"POP-3 canonical query", aliyun.CanonicalQuery(pop3()),
			"AccessKeyId=testid&Action=Pub&Format=XML&MessageContent=aGVsbG93b3JsZA%3D&ProductKey=12345abcdeZ&Qos=0&RegionId=cn-shanghai&ServiceCode=iot&SignatureMethod=HMAC-SHA1&SignatureNonce=0715a395-aedf-4a41-bab7-746b43d38d88&SignatureVersion=1.0&Timestamp=2017-10-02T09%3A39%3A41Z&TopicFullName=%2FproductKey%2Ftestdevice%2Fget&Version=2017-04-20"},
		{"POP-4 StringToSign", aliyun.StringToSign("GET", pop4()),
			"GET&%2F&AccessKeyId%3Dtestid%26Action%3DListOTAFirmware%26CurrentPage%3D1%26DestVersion%3D4.0.0%26Format%3DJSON%26PageSize%3D10%26ProductKey%3Da19mzPZabcd%26RegionId%3Dcn-shanghai%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D9e6189124f5a4716ad2de849467b0000%26SignatureVersion%3D1.0%26Timestamp%3D2024-11-19T09%253A47%253A43Z%26Version%3D2018-01-20"},
		{"Signature left out", aliyun.CanonicalQuery(map[string]string{"A": "1", "Signature": "x"}), "A=1"},
		{"sorted by name, not by pair", aliyun.CanonicalQuery(map[string]string{"Foo": "a", "Foo1": "b"}), "Foo=a&Foo1=b"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %s\nwant %s", tt.name, tt.got, tt.want)
		}
	}
}

func TestPercentEncode(t *testing.T) {
	for in, want := range map[string]string{
		"2016-02-23T12:46:24Z": "2016-02-23T12%3A46%3A24Z", "a b": "a%20b", "a*b": "a%2Ab", "a~b": "a~b", "/": "%2F",
		"a b*c~d!'()+/é": "a%20b%2Ac~d%21%27%28%29%2B%2F%C3%A9",
	} {
		if got := aliyun.PercentEncode(in); got != want {
			t.Errorf("PercentEncode(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSignOneByteChange changes one byte of each parameter value, name and
// the secret of every vector: the signature must change.
func TestSignOneByteChange(t *testing.T) {
	flip := func(s string) string {
		b := []byte(s)
		b[len(b)/2] ^= 1
		return string(b)
	}
	for _, v := range vectors {
		if aliyun.Sign(v.method, v.params(), flip("testsecret")) == v.want {
			t.Errorf("%s: changed secret still signs as %s", v.name, v.want)
		}
		for k := range v.params() {
			p := v.params()
			p[k] = flip(p[k])
			if got := aliyun.Sign(v.method, p, "testsecret"); got == v.want {
				t.Errorf("%s: value of %s changed, signature unchanged", v.name, k)
			}
			p = v.params()
			p[flip(k)] = p[k]
			delete(p, k)
			if got := aliyun.Sign(v.method, p, "testsecret"); got == v.want {
				t.Errorf("%s: name %s changed, signature unchanged", v.name, k)
			}
		}
	}
}
