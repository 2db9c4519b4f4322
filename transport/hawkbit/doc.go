// Package hawkbit is a client of the Eclipse hawkBit Direct Device
// Integration (DDI) API, the fifth OTA API (api = "hawkbit"); the wire
// facts are in shared/reference/hawkbit-ddi.md.
//
// # Polling
//
// Check polls <base_url>/<tenant>/controller/v1/<controller_id> with
// "Authorization: TargetToken" (or GatewayToken) and follows the links the
// answer holds, and only those on the base URL's scheme and host: a link
// elsewhere is refused so the token never leaves the configured server.
// The answer's config.polling.sleep (HH:mm:ss, or ISO-8601 from 24 h up)
// is returned by NextPoll, clamped to [MinSleep, MaxSleep].
//
// # Mapping
//
// One offer per chunk: the chunk's name, else its part, is looked up in
// Config.Chunks. A chunk needs exactly one artifact; its download link
// (download, else download-http), size, md5 and sha256 go into the offer,
// which the download engine checks while streaming. sha1 is kept in
// Extra["sha1"] and checked only for download-only actions (fetched by
// this package): the agent's engine does not hash sha1, so an artifact
// with sha1 alone is refused rather than installed unverified. hawkBit
// always sends md5, so real servers are never refused for this.
//
// update forced → transport.Forced; attempt → transport.Prompt (policy.prompt
// and policy.window decide); update skip with maintenanceWindow
// unavailable → refused (waits for the window); update skip without a
// window → download-only: fetched and verified when the agent's update
// hands the skip decision to Decided (never from Check), reported
// downloaded, not installed; download skip → refused (waits). A chunk the
// policy skips while it still needs installing closes the action with
// failure and the reason (Decided).
//
// # Feedback
//
// Reports become feedback on deploymentBase/<id>/feedback in the order
// the reference gives: proceeding (download started, with progress cnt/of
// chunks), proceeding (downloaded and verified), proceeding per installed
// chunk, then closed/success once every chunk is installed (for ab after
// the new slot booted and committed), or closed/failure with the reason at
// the first failure. Each step is sent once: delivered steps are kept in
// Config.StateFile. 409 and 429 are retried after at least a second; 410
// means closed on the server and counts as delivered.
//
// # Cancel
//
// A cancelAction is answered closed/success unless the action is armed (an
// ab component reported downloaded, Config.ArmsOnDownload); then it is
// rejected and the result follows on deploymentBase. A failed download of
// an action canceled meanwhile (hawkBit answers 404 to its artifacts)
// acknowledges the cancel instead of reporting a failure.
package hawkbit
