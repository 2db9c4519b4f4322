package espromtest

import (
	"context"

	"ota-agent/flasher/esprom"
)

// readFlashBlock is what READ_FLASH_SLOW returns per request: the ESP32
// ROM always answers 64 bytes, however few were asked for (esptool
// targets/esp32.py read_flash_slow: "this limit is why it's so slow").
const readFlashBlock = 64

// readFlashSlow answers READ_FLASH_SLOW (offset, length ≤ 64).
func (s *Sim) readFlashSlow(ctx context.Context, req esprom.Request) error {
	if len(req.Data) != 8 {
		return s.reply(ctx, req.Op, 0, nil, esprom.ErrCodeInvalidMessage)
	}
	off, n := int(le(req.Data, 0)), int(le(req.Data, 1))
	if n > readFlashBlock {
		return s.reply(ctx, req.Op, 0, nil, esprom.ErrCodeInvalidMessage)
	}
	if off < 0 || off+readFlashBlock > len(s.flash) {
		return s.reply(ctx, req.Op, 0, nil, esprom.ErrCodeFlashWrite)
	}
	return s.reply(ctx, req.Op, 0, s.Flash(off, readFlashBlock), 0)
}
