// Package download fetches firmware over HTTP(S) in one pass: the bytes flow
// from the server into their destination (a staging file or an A/B slot)
// once, while MD5 and SHA-256 are computed on the way (SPEC §4).
//
// # Resume
//
// Each download keeps a small JSON journal (Request.Journal, under
// state_dir). It holds the URL, the server's validator (ETag or
// Last-Modified, and the size), the offset and the marshalled MD5/SHA-256
// states. It is written atomically (temp file, fsync, rename, directory
// fsync) and only after Dest.Sync has made the data up to that offset
// durable, so a process killed at any instant, or a power cut, loses about
// max(Options.SyncEvery bytes, Options.MinSyncGap of transfer) plus the
// pipeline's buffers (half of SyncEvery).
// Reading, writing, MD5 and SHA-256 run concurrently in a bounded pipeline
// (pipe.go); each journal holds hash states taken at exactly its offset. A new process continues with "Range: bytes=N-"
// and "If-Range"; a 200 answer, a different Content-Range total or
// Content-Length, or a changed validator start again from zero, and the log
// says why. Before resuming into a Dest it can read back (io.ReaderAt, a
// staging file), Fetch re-hashes the bytes on disk and starts from zero when
// they do not give the journal's hash states; a journal whose offset
// disagrees with the byte count inside its hash states is discarded.
//
// # Bounds
//
// No byte for Options.StallTimeout, or an average below Options.MinRate over
// Options.MinRateWindow, aborts the attempt; attempts back off
// exponentially with full jitter and honour Retry-After; MaxRetries attempts
// in a row that each add less than min(1 MiB, size/16, what is left) end the
// download; 4xx answers other than 408 and 429 are final; the bytes fetched
// for one download, across attempts and restarts, are capped at
// Options.Budget × size (× Options.MaxSize when the offer gives no exact
// size, and such a download fails past MaxSize); Options.TimeBudget bounds
// its time across attempts and restarts (kept in the journal). Every failure
// comes back as one wrapped error that says what happened, on which URL
// (query string removed: presigned URLs carry secrets), and what to check.
//
// # Space
//
// Stage checks free space before the first byte: the exact size, or an
// estimate plus 5 % (NeedBytes). When the file system still fills up mid-way
// the error wraps ErrNoSpace and names the directory and the bytes needed,
// and Stage removes the partial file and its journal: nothing half-written
// keeps the space, and the next try starts from zero.
//
// # Packages
//
// Unpack turns a staged download into images: raw, gzip, xz or zstd
// (detected by magic bytes), or a zip. A zip may hold manifest.json:
//
//	{"images": [
//	  {"component": "rootfs", "version": "1.2.0", "file": "rootfs.img", "sha256": "…", "size": 123}
//	]}
//
// Each listed file is extracted and its SHA-256 (and size, when given)
// checked. A zip without a manifest must hold exactly one file, which goes
// to the offer's component. Names with "..", absolute names, links, entries
// larger than declared, overlapping entries and zip bombs (by ratio) are
// refused.
package download
