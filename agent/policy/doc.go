// Package policy decides what the agent does with each offer (SPEC §3):
// install now, hold (wait for a window or an approval) or skip, always with
// a reason a person can read. It also orders version strings under the
// configured version scheme.
//
// # Version schemes
//
//   - semver: loose semantic versions: an optional v/V prefix, any number of
//     numeric parts with missing ones counting as 0 ("1.2" == "1.2.0"), a
//     pre-release after "-" that sorts before the release, "+build" ignored.
//   - date: an embedded YYYYMMDD (or, when no 8-digit date exists, the AKASO
//     six-digit YYMMDD as in "SN-39-230620-V2.0"), then the trailing version
//     ("V3.2.5", "Vx.2.4" with a literal x). Text before the date (the model
//     name, in any spelling) is ignored.
//   - numeric: non-negative integers (UpgradeLink versionCode).
//   - opaque: equality only.
//   - auto: semver when both sides parse, else date when both sides parse,
//     else opaque.
//
// Every string is trimmed first: AKASO sends "Brave 8_20231107_Vx.2.4\n".
package policy
