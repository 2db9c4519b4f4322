// Package mxchip is the client for the MXChip "anxin" OTA API
// (seed-apis.md §2): a token-authenticated GET that says whether the MCU and
// the Wi-Fi module need new firmware, and a PUT that reports the versions a
// device runs after an update.
//
// # Wire rules the client follows
//
//   - Every request carries "Authorization: token <key>" (Django REST
//     framework's token auth).
//   - Every answer is {"meta":{"code","message"},"data"}; success is
//     meta.code == 0 and nothing else. A missing meta or meta.code is an
//     error, never success. meta.code may also arrive as a numeric string.
//   - need_ota decides: false, or true with files empty, null or absent,
//     means no offers. The client compares no versions itself.
//   - ota_type 0 is the MCU, 1 the Wi-Fi module; a file of another type,
//     or of a module no component manages, comes back as a refused offer
//     (Offer.Refused), shown as skipped with the reason (a new module type
//     must not stop the others' updates); a file without ota_type is an
//     error (flashing a Wi-Fi image into the MCU could brick it), and two
//     files of one type are an error.
//   - The check needs both wifi_version and mcu_version, and the server
//     answers an empty one with code 10000. For a module no component
//     manages, Config.WiFiVersion / MCUVersion ([server.mxchip]
//     wifi_version / mcu_version) is sent, or "0" when none is set; the
//     version report sends the same.
//   - customize is the operator's free text: kept verbatim in
//     Extra["customize"] and trimmed as Notes (shown by status). The agent
//     acts on none of it: {"reboot":true} reboots nothing; what happens
//     after a flash is the component's own configuration (post_install,
//     the A/B reboot).
//   - Paths keep their trailing slash: Django's APPEND_SLASH turns a
//     slash-less PUT into a redirected GET that fails.
//   - There is no size in the answer; offers have Size 0.
package mxchip
