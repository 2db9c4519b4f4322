// Package ubootenv reads and writes U-Boot environments the way U-Boot and
// libubootenv (fw_printenv/fw_setenv) do, so that all three agree on every
// byte that matters.
//
// # Layouts
//
// A single copy is a little-endian CRC-32 over the whole data area followed by
// the data: "name=value\0" entries, an empty entry ("\0") ending the list, and
// padding up to the environment size. A redundant copy has one flag byte
// between CRC and data; the flag is not covered by the CRC. Two redundant
// copies form a pair, and the flags decide which valid copy is active
// (Incremental: a serial number with wrap-around; Boolean: active/obsolete, as
// on NOR flash).
//
// # Reading
//
// Padding may be 0x00 (U-Boot saveenv), 0xFF (mkenvimage) or garbage
// (libubootenv leaves uninitialised heap bytes), and entries may come in any
// order; the reader only stops at the terminator and always checks the CRC
// over the area exactly as stored. When no copy is valid, Read returns
// ErrNoValidEnv and never guesses.
//
// # Writing
//
// Entries are written sorted by name (as U-Boot's saveenv and libubootenv do)
// with 0x00 padding. A single copy in a regular file is replaced atomically
// (temp file, fsync, rename, directory fsync) because libubootenv's in-place
// write is torn by a power cut. A redundant pair is written by rewriting the
// inactive copy with the next flag, so a torn write leaves the old copy
// active. Every access holds flock on /var/lock/fw_printenv.lock, the lock
// libubootenv takes, so the agent serialises with fw_setenv, Mender and
// SWUpdate.
package ubootenv
