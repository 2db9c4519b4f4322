package ymodemtest

import "time"

// FaultKind is a seeded fault of the simulated device or its line.
type FaultKind int

const (
	// Corrupt flips a bit in a data byte of block Block as it arrives (line
	// noise): the CRC fails and the receiver rejects the block.
	Corrupt FaultKind = iota
	// Drop loses one byte of block Block on the wire: the frame never
	// completes and the receiver times out on it.
	Drop
	// NAK rejects block Block once although it arrived intact.
	NAK
	// DropACK loses the ACK of block Block: the host resends a block the
	// device already has (which a strict receiver NAKs).
	DropACK
	// Stall makes the device deaf and mute for Fault.Stall when block Block
	// starts; 0 stalls until Serve's ctx is done.
	Stall
	// Abort cancels with CA CA when block Block starts, as a typed 'a' does.
	Abort
	// NAKEOT rejects the first EOT, as classic XMODEM receivers do.
	NAKEOT
	// Verify makes the check after a complete transfer fail
	// ("Verification failed!").
	Verify
)

var faultNames = [...]string{"corrupt", "drop", "nak", "drop-ack", "stall", "abort", "nak-eot", "verify"}

// String returns the fault's name, e.g. "drop-ack".
func (k FaultKind) String() string {
	if k >= 0 && int(k) < len(faultNames) {
		return faultNames[k]
	}
	return "unknown"
}

// Fault is one seeded fault. Block counts frames of a file from 0 (block 0
// with name and size), so data block 1 is the first 1 KiB.
type Fault struct {
	Kind  FaultKind
	Block int
	Stall time.Duration // for Stall; 0 = forever
}

// fault returns the first unfired fault of kind at block and marks it fired.
func (d *Device) fault(kind FaultKind, block int) (Fault, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, f := range d.opts.Faults {
		if f.Kind == kind && (f.Block == block || kind == NAKEOT || kind == Verify) && !d.fired[i] {
			d.fired[i] = true
			d.log.Info("fault injected", "fault", kind.String(), "block", block)
			return f, true
		}
	}
	return Fault{}, false
}

// Inject adds faults for the transfers still to come, as a test's later
// step needs (a module that fails only the second update).
func (d *Device) Inject(fs ...Fault) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.opts.Faults = append(d.opts.Faults, fs...)
	d.fired = append(d.fired, make([]bool, len(fs))...)
}
