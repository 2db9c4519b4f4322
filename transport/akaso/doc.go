// Package akaso is the client for the AKASO GO app API's firmware list,
// getVersionList (seed-apis.md §1): one unauthenticated GET that returns a
// bare JSON array with one entry per camera model.
//
// # Wire quirks the client handles
//
//   - The answer is a bare array, not an envelope. An object is accepted only
//     when it wraps the array in "data" (and its "code", if any, is 0 or 200).
//   - uid is a number written as a string ("10", "2"); the array is sorted
//     lexically, so "10" comes before "9". Several entries for one model are
//     resolved by the largest uid compared as an integer. A uid sent as a JSON
//     integer is accepted too: it is only an identifier and ordering key, so
//     reading 10 as "10" cannot change which package is installed.
//   - md5check is upper-case hex; offers carry it lower-case.
//   - fileSize is a human string ("20.8MB", "13MB", "512KB") and only an
//     estimate: Offer.SizeIsEstimate is set. A size that does not parse,
//     including a bare JSON number with no unit, becomes 0 (unknown): a wrong
//     unit guess could pass a free-space check it should fail.
//   - version_name may end in "\n"; versions, notes and ids are trimmed.
//   - src is used verbatim: raw spaces and a literal "+" (S3 reads "+" in a
//     path as a space) are never re-escaped. Go's http.NewRequest turns a raw
//     space into %20 and keeps "+", which is what S3 needs.
//   - min_version_name "" means no minimum.
//
// AKASO has no report endpoint: Report returns nil.
package akaso
