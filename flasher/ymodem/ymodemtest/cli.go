package ymodemtest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Strings of the MXChip bootloader (reference/serial-protocols.md §2.4).
const (
	Prompt  = "MXCHIP> "
	Banner  = "\r\nMXCHIP bootloader (simulated)\r\n"
	Waiting = "Waiting for the file to be sent ... (press 'a' to abort)\r\n"
)

// cli runs the MXChip menu: echo, one command per line, prompt after each.
func (d *Device) cli(ctx context.Context, ln *line) error {
	if err := ln.write(ctx, []byte(Banner+Prompt)); err != nil {
		return err
	}
	for {
		text, err := d.readLine(ctx, ln)
		if err != nil {
			return err
		}
		out, err := d.command(ctx, ln, strings.ToUpper(strings.TrimSpace(text)))
		if errors.Is(err, errBooted) {
			ln.write(ctx, []byte(out))
			<-ctx.Done()
			return ctx.Err()
		}
		if err != nil {
			return err
		}
		if err := ln.write(ctx, []byte(out+Prompt)); err != nil {
			return err
		}
	}
}

var errBooted = errors.New("application started")

// readLine reads up to CR or LF, echoing as the bootloader does.
func (d *Device) readLine(ctx context.Context, ln *line) (string, error) {
	var s []byte
	for {
		b, err := ln.readN(ctx, 1, d.opts.Timeout)
		if errors.Is(err, errIdle) {
			continue
		}
		if err != nil {
			return "", err
		}
		switch c := b[0]; {
		case c == '\r' || c == '\n':
			ln.write(ctx, []byte("\r\n"))
			return string(s), nil
		case (c == 8 || c == 127) && len(s) > 0:
			s = s[:len(s)-1]
			ln.write(ctx, []byte("\b \b"))
		case c >= ' ' && c < 127 && len(s) < 128:
			s = append(s, c)
			ln.write(ctx, []byte{c})
		}
	}
}

// command runs one menu command and returns what it prints.
func (d *Device) command(ctx context.Context, ln *line, cmd string) (string, error) {
	if cmd == "" {
		return "", nil
	}
	d.mu.Lock()
	d.cmds = append(d.cmds, cmd)
	d.mu.Unlock()
	f := strings.Fields(cmd)
	switch f[0] {
	case "BOOTUPDATE", "FWUPDATE", "DRIVERUPDATE":
		return d.update(ctx, ln, cmd)
	case "PARUPDATE":
		if len(f) != 3 || f[1] != "-ID" {
			return "Usage: PARUPDATE -id N [-e] [-r]\r\n", nil
		}
		if _, err := strconv.Atoi(f[2]); err != nil {
			return "Usage: PARUPDATE -id N [-e] [-r]\r\n", nil
		}
		return d.update(ctx, ln, cmd)
	case "BOOT":
		return "Booting......\r\n", errBooted
	case "REBOOT":
		return "Rebooting...\r\n" + Banner, nil
	case "HELP", "?":
		return "BOOTUPDATE FWUPDATE DRIVERUPDATE PARUPDATE MEMORYMAP BOOT REBOOT HELP\r\n", nil
	case "MEMORYMAP":
		return fmt.Sprintf("application: %d bytes\r\n", d.opts.Capacity), nil
	}
	return "Unknown command: " + f[0] + "\r\n", nil
}

// update receives an image by YMODEM and prints the bootloader's result.
func (d *Device) update(ctx context.Context, ln *line, cmd string) (string, error) {
	if err := ln.write(ctx, []byte(Waiting)); err != nil {
		return "", err
	}
	f, err := d.receive(ctx, ln, d.opts.Mode, cmd)
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	switch {
	case err == nil:
		return fmt.Sprintf("\n\n\r Successfully!\n\r\r\n Name: %s\n\r Size:    %d Bytes\r\n", f.Name, len(f.Data)), nil
	case errors.Is(err, errTooLarge):
		return "\n\n\rImage size is higher than memory!\n\r", nil
	case errors.Is(err, errVerify):
		return "\n\n\rVerification failed!\n\r", nil
	case errors.Is(err, errAborted):
		return "\r\n\nAborted.\n\r", nil
	}
	d.log.Info("receive failed", "err", err)
	return "\n\rReceive failed!\n\r", nil
}
