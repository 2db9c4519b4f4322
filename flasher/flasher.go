// Package flasher holds what every target shares: the verified image handed
// to a target, the progress callback, and the two target roles the agent
// drives. One package per protocol or target sits below it: flasher/ab (A/B
// slots and boot schemes), flasher/stm32 (AN3155), flasher/ymodem (YMODEM and
// the MXChip CLI), flasher/esprom (Espressif ROM loader), flasher/file.
// Simulated devices sit in sibling <pkg>test packages.
package flasher

import (
	"context"
	"io"
)

// Progress receives bytes done out of total; total is 0 when unknown.
// A nil Progress is allowed everywhere and means no reporting.
type Progress func(done, total int64)

// Report calls p if it is not nil.
func (p Progress) Report(done, total int64) {
	if p != nil {
		p(done, total)
	}
}

// Image is a complete image whose digest the agent has already checked.
// Nothing reaches a target before that.
type Image struct {
	R       io.ReaderAt // the staged bytes; the caller owns and closes it
	Size    int64       // bytes
	Name    string      // file name, e.g. for YMODEM block 0
	Version string      // version being installed
}

// Target installs a verified image into one component (stm32, ymodem, esp,
// file). Install returns only after the target has verified what it wrote
// where its protocol allows; it opens and closes its own port or file.
type Target interface {
	Install(ctx context.Context, img Image, progress Progress) error
}

// Slot is the inactive A/B slot an image streams into while it downloads.
// The caller closes it.
type Slot interface {
	io.WriterAt
	Name() string // slot name, e.g. "B"
	Size() int64  // capacity in bytes
	Sync() error  // data written so far is durable (fdatasync)
	// Verify reads back the first n bytes from the device (not the page
	// cache) and compares their SHA-256 with sum.
	Verify(ctx context.Context, n int64, sha256 []byte) error
	// VerifyWritten is Verify for the n bytes just written through this
	// Slot, whose SHA-256 the caller took on the way in: it may compare
	// what it reads back with what it was given (a fast checksum per
	// block) instead of hashing it again.
	VerifyWritten(ctx context.Context, n int64, sha256 []byte) error
	Close() error
}

// ABTarget is a root filesystem on two slots switched through the bootloader
// environment (SPEC §5).
type ABTarget interface {
	// Booted returns the slot the running system booted from.
	Booted(ctx context.Context) (string, error)
	// OpenInactive opens the slot that is not booted for writing size bytes;
	// it refuses the booted slot, a mounted one and one too small.
	OpenInactive(ctx context.Context, size int64) (Slot, error)
	// Arm makes slot boot next, with boot counting, in one environment write.
	Arm(ctx context.Context, slot string) error
	// Commit marks the booted slot good (boot counter reset).
	Commit(ctx context.Context) error
	// Rollback makes the other slot boot next.
	Rollback(ctx context.Context) error
	// Pending reads from the boot environment alone whether a slot is
	// armed or on trial, for when the agent's own record is lost.
	Pending(ctx context.Context) (Pending, error)
}

// Pending is what a boot environment holds that is not committed.
type Pending int

const (
	PendingNone  Pending = iota // nothing: the booted slot is committed
	PendingArmed                // the inactive slot is armed to boot next
	PendingTrial                // the booted slot is on trial, not committed
)

func (p Pending) String() string {
	switch p {
	case PendingArmed:
		return "armed"
	case PendingTrial:
		return "trial"
	}
	return "none"
}
