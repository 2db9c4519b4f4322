// Package upgradelink is the client for the UpgradeLink (toolsetlink) OTA API
// (SPEC §2, shared/reference/seed-apis.md §3).
//
// # Requests
//
// Every call is a signed POST with a JSON body. The body is marshalled once,
// signed and sent as the same bytes; each attempt gets a fresh RFC 3339
// timestamp, a fresh 16-hex-digit nonce and so a fresh signature (the server
// refuses a timestamp more than ±5 minutes off and a nonce it has seen). The
// open-source server's `test: test` header, which disables both checks, is
// never sent.
//
// Check posts to /v1/<kind>/upgrade for one of the kinds configuration, file,
// url and lnx, with the component's current version as versionCode (so that
// component's version must be a positive integer). Code 0 means the device is
// up to date and code 200 carries one offer; the decision is made on the code,
// never on the presence of data, because the self-hosted server sends a
// zero-valued data object with code 0.
//
// # Offers
//
// versionCode becomes Offer.Version as a decimal string (the agent compares it
// with the numeric version scheme); upgradeType 1, 2 and 3 become prompt,
// silent and forced (0 or anything else leaves the policy default); urlPath is
// the URL used verbatim, urlFileSize the size and urlFileMd5 the MD5 when not
// empty. A configuration answer carries its content inline: the JSON of
// `content` becomes Offer.Payload (a JSON string is unquoted first), to be
// installed by a component of type file.
//
// # Reports
//
// Report posts to /v1/app/report. EventDownload is sent as
// app_upgrade_download (downloadVersionCode) and EventInstall as
// app_upgrade_upgrade (upgradeVersionCode). The SDK's result codes are filled
// in from the Report:
//
//	Report.OK                          → 0 (success)
//	!OK, Code one of 1, 1001…1004      → that code
//	!OK, any other Code                → 1 (generic error)
//
// where the agent uses 1001 for an HTTP download error, 1002 for not enough
// space, 1003 for a file operation error and 1004 for an MD5 mismatch (the
// constants CodeDownloadHTTP … CodeMD5Mismatch).
//
// # Errors
//
// Every failure is a *transport.Error with API "upgradelink" and the server's
// code. HTTP 429 and 5xx are retryable (with Retry-After); 400, 401 and 404
// are final: they need a fixed clock, key, secret or configuration, not
// another try.
package upgradelink
