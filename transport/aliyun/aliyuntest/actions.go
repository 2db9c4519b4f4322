package aliyuntest

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf8"
)

func requestID() string {
	var b [16]byte
	rand.Read(b[:])
	return fmt.Sprintf("%X-%X-%X-%X-%X", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func bizError(code, msg string) map[string]any {
	return map[string]any{"RequestId": requestID(), "Success": false, "Code": code, "ErrorMessage": msg}
}

// list answers ListOTAFirmware: ProductKey and DestVersion filter, then one
// page.
func (s *Server) list(p map[string]string) map[string]any {
	page, err1 := strconv.Atoi(p["CurrentPage"])
	size, err2 := strconv.Atoi(p["PageSize"])
	if err1 != nil || err2 != nil || page < 1 || size < 1 || size > 100 {
		return bizError("iot.common.InvalidPageParams", fmt.Sprintf("CurrentPage %q must be ≥ 1 and PageSize %q 1 to 100.", p["CurrentPage"], p["PageSize"]))
	}
	s.mu.Lock()
	var match []Firmware
	for _, fw := range s.fws {
		if (p["ProductKey"] == "" || p["ProductKey"] == fw.ProductKey) && (p["DestVersion"] == "" || p["DestVersion"] == fw.DestVersion) {
			match = append(match, fw)
		}
	}
	s.mu.Unlock()
	lo, hi := min((page-1)*size, len(match)), min(page*size, len(match))
	items := make([]map[string]any, 0, hi-lo)
	for _, fw := range match[lo:hi] {
		items = append(items, info(fw))
	}
	return map[string]any{
		"RequestId": requestID(), "Success": true, "Code": "", "Total": len(match), "PageSize": size,
		"PageCount": (len(match) + size - 1) / size, "CurrentPage": page,
		"FirmwareInfo": map[string]any{"SimpleFirmwareInfo": items},
	}
}

func info(fw Firmware) map[string]any {
	m := map[string]any{
		"FirmwareId": fw.ID, "FirmwareName": fw.Name, "FirmwareDesc": fw.Desc, "SrcVersion": fw.SrcVersion,
		"DestVersion": fw.DestVersion, "FirmwareSign": fw.Sign, "SignMethod": fw.SignMethod, "FirmwareSize": fw.Size,
		"ModuleName": fw.ModuleName, "ProductKey": fw.ProductKey, "ProductName": fw.ProductName, "Status": fw.Status,
		"Type": fw.Type, "UtcCreate": fw.UtcCreate, "UtcModified": fw.UtcCreate,
	}
	if fw.Files != nil { // only single-file packages carry these
		delete(m, "FirmwareSign")
		delete(m, "SignMethod")
		delete(m, "FirmwareSize")
	}
	return m
}

// multiFiles is the MultiFiles of a query answer.
func multiFiles(fw Firmware) []any {
	out := []any{}
	for _, f := range fw.Files {
		sum := md5.Sum(f.Data)
		out = append(out, map[string]any{"Name": f.Name, "Size": len(f.Data), "FileMd5": hex.EncodeToString(sum[:]), "SignValue": hex.EncodeToString(sum[:])})
	}
	return out
}

// query answers QueryOTAFirmware with a freshly presigned FirmwareUrl.
func (s *Server) query(p map[string]string) map[string]any {
	id := p["FirmwareId"]
	if id == "" {
		return bizError("iot.common.QueryFirmwareParamError", "FirmwareId is mandatory.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, fw := range s.fws {
		if fw.ID == id {
			m := info(fw)
			if fw.Files == nil {
				m["FirmwareUrl"] = s.presign(fw)
			}
			m["VerifyProgress"] = 100
			m["MultiFiles"] = multiFiles(fw)
			return map[string]any{"RequestId": requestID(), "Success": true, "Code": "", "FirmwareInfo": m}
		}
	}
	return bizError("iot.ota.NotExistedFirmware", "The firmware does not exist.")
}

// camel lower-cases the first letter of every key, as the Tuya host does.
func camel(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			r, n := utf8.DecodeRuneInString(k)
			m[string(unicode.ToLower(r))+k[n:]] = camel(x)
		}
		return m
	case []map[string]any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = camel(x)
		}
		return out
	}
	return v
}
