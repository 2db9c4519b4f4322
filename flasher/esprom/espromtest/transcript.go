package espromtest

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// A transcript is the exchange between a host and the simulator as text:
// one line per frame, unframed (SLIP removed) and in hex, "> " for a
// request the simulator decoded and "< " for a reply it sent, in the
// order they happened. Lines starting with "#" and blank lines are
// comments. E.g. a READ_REG of the chip magic and its reply:
//
//	> 000a04000000000000100040
//	< 010a0400831df00000000000
//
// The golden transcripts of esptool's ROM-mode commands live in testdata.

// Exchange is one request and the replies that followed it before the next
// request (none for a frame the ROM ignores, eight for SYNC).
type Exchange struct {
	Request []byte
	Replies [][]byte
}

// maxTranscriptLine bounds one line: a frame is at most 64 KiB of data
// (the 16-bit size field) plus its header, in hex, plus the direction.
const maxTranscriptLine = 2*(8+0xFFFF) + 2

// ReadTranscript parses a transcript. A reply before the first request, a
// line that is neither "> hex" nor "< hex", and hex of odd length are
// errors naming the line.
func ReadTranscript(r io.Reader) ([]Exchange, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxTranscriptLine+1)
	var ex []Exchange
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		dir, frame, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("transcript line %d: %w", n, err)
		}
		if dir == '>' {
			ex = append(ex, Exchange{Request: frame})
			continue
		}
		if len(ex) == 0 {
			return nil, fmt.Errorf("transcript line %d: reply before any request", n)
		}
		ex[len(ex)-1].Replies = append(ex[len(ex)-1].Replies, frame)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read transcript: %w (lines are at most %d bytes)", err, maxTranscriptLine)
	}
	return ex, nil
}

func parseLine(line string) (byte, []byte, error) {
	if len(line) < 2 || (line[0] != '>' && line[0] != '<') || line[1] != ' ' {
		return 0, nil, fmt.Errorf("want \"> hex\" or \"< hex\", got %.20q", line)
	}
	frame, err := hex.DecodeString(strings.TrimSpace(line[2:]))
	if err != nil {
		return 0, nil, fmt.Errorf("frame is not hex: %w", err)
	}
	return line[0], frame, nil
}

// record writes one frame to the transcript, if there is one.
func (s *Sim) record(dir byte, frame []byte) {
	if s.opts.Transcript != nil {
		fmt.Fprintf(s.opts.Transcript, "%c %x\n", dir, frame)
	}
}
