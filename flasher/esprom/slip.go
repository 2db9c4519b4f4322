package esprom

import "errors"

// SLIP framing (RFC 1055 as the ROM uses it): a packet starts and ends with
// 0xC0; inside, 0xC0 becomes DB DC and 0xDB becomes DB DD.
const (
	slipEnd    = 0xC0
	slipEsc    = 0xDB
	slipEscEnd = 0xDC
	slipEscEsc = 0xDD
)

// ErrBadEscape is a SLIP escape byte followed by something other than DC or DD.
var ErrBadEscape = errors.New("slip: invalid escape sequence")

// SlipEncode returns p framed and escaped.
func SlipEncode(p []byte) []byte {
	out := make([]byte, 0, len(p)+len(p)/64+4)
	out = append(out, slipEnd)
	for _, b := range p {
		switch b {
		case slipEnd:
			out = append(out, slipEsc, slipEscEnd)
		case slipEsc:
			out = append(out, slipEsc, slipEscEsc)
		default:
			out = append(out, b)
		}
	}
	return append(out, slipEnd)
}

// SlipDecoder reassembles packets from a byte stream. Bytes outside a frame
// (boot messages, line noise) are skipped. The zero value is ready to use.
type SlipDecoder struct {
	in     bool
	esc    bool
	bad    bool
	packet []byte
}

// Feed consumes b and calls emit for each complete packet. A packet with a
// bad escape is passed with err set, so the caller can count it as noise.
func (d *SlipDecoder) Feed(b []byte, emit func(p []byte, err error)) {
	for _, c := range b {
		if !d.in {
			if c == slipEnd {
				d.in = true
				d.packet = d.packet[:0]
			}
			continue
		}
		switch {
		case c == slipEnd:
			if len(d.packet) == 0 && !d.bad {
				// Back-to-back delimiters: the second opens the next frame.
				continue
			}
			p := append([]byte(nil), d.packet...)
			var err error
			if d.bad {
				err = ErrBadEscape
			}
			d.in, d.esc, d.bad = false, false, false
			d.packet = d.packet[:0]
			emit(p, err)
		case d.esc:
			d.esc = false
			switch c {
			case slipEscEnd:
				d.packet = append(d.packet, slipEnd)
			case slipEscEsc:
				d.packet = append(d.packet, slipEsc)
			default:
				d.bad = true
			}
		case c == slipEsc:
			d.esc = true
		default:
			d.packet = append(d.packet, c)
		}
	}
}
