package demo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
)

// demoStep is one titled step of play.
type demoStep struct {
	title string
	f     func() error
}

// firstRelease is what the server offers at the first check: the good
// releases plus one the policy must turn down, per API.
func (r *run) firstRelease() []Firmware {
	fw := func(c string) Firmware { return Firmware{Component: c, Version: r.vers[c], Data: r.imgs[c]} }
	switch r.o.API {
	case "akaso":
		// AKASO lists one entry per model; this one needs a newer base.
		return []Firmware{{Component: "rootfs", Version: "2.1.0", Data: r.imgs["rootfs"], MinVersion: "1.5.0"}}
	case "mxchip":
		return []Firmware{fw("mcu"), {Component: "wifi", Version: "0.9.0", Data: r.imgs["wifi"]}}
	case "upgradelink":
		f := fw("rootfs")
		f.UpgradeType = "prompt"
		return []Firmware{f}
	}
	return []Firmware{fw("rootfs"), fw("wifi"), {Component: "mcu", Version: "0.9.0", Data: r.imgs["mcu"]}}
}

// fixRelease is what the vendor publishes after the first check.
func (r *run) fixRelease() []Firmware {
	fw := func(c string) Firmware { return Firmware{Component: c, Version: r.vers[c], Data: r.imgs[c]} }
	switch r.o.API {
	case "akaso":
		return []Firmware{fw("rootfs")}
	case "mxchip":
		return []Firmware{fw("wifi")}
	case "upgradelink":
		return nil // the prompt offer is approved with update --yes
	}
	return []Firmware{fw("mcu")}
}

func (r *run) play(ctx context.Context) error {
	offers := r.srv.Offers()
	var byHand []string
	for _, c := range []string{"mcu", "wifi", "rootfs"} {
		if !slices.Contains(offers, c) {
			byHand = append(byHand, c)
		}
	}
	steps := []demoStep{
		{"simulated board", r.board},
		{"check: ask the " + r.o.API + " API what it offers (changes nothing)", func() error {
			if err := r.publish(r.firstRelease(), true); err != nil {
				return err
			}
			return r.agent(ctx, "check")
		}},
	}
	if fix := r.fixRelease(); fix != nil {
		steps = append(steps, demoStep{"the vendor publishes the proper release", func() error {
			for _, f := range fix {
				r.say("%s %s (%d bytes, md5 %s), in a zip whose manifest is signed by key %s", f.Component, f.Version, len(f.Data), md5Hex(f.Data), r.key.KeyID())
			}
			return r.publish(fix, true)
		}})
	}
	for _, c := range byHand {
		if c == "rootfs" {
			continue
		}
		steps = append(steps, r.handStep(ctx, c))
	}
	steps = append(steps, demoStep{"update --yes: download with MD5, flash, write the inactive slot", func() error { return r.agent(ctx, "update", "--yes") }})
	if slices.Contains(byHand, "rootfs") {
		steps = append(steps, r.handStep(ctx, "rootfs"))
	}
	steps = append(steps, []demoStep{
		{"reboot: the bootloader counts the boot and picks the slot", func() error { return r.reboot(ctx) }},
		{"commit: health checks passed, make the new slot permanent", func() error { return r.agent(ctx, "commit") }},
		{"status", func() error { return r.agent(ctx, "status") }},
		{"a forged release (no signature) appears in the console: update refuses it", func() error { return r.forged(ctx) }},
	}...)
	if slices.Contains(offers, "rootfs") {
		steps = append(steps, r.setSteps(ctx)...)
	}
	steps = append(steps, []demoStep{
		{"what the " + r.o.API + " server received", r.received},
		{"verify the simulated hardware", r.verify},
	}...)
	for _, s := range steps {
		if err := r.step(s.title, s.f); err != nil {
			return err
		}
	}
	return nil
}

// handStep installs component c by hand from a URL on the fake server,
// for parts the API cannot offer.
func (r *run) handStep(ctx context.Context, c string) demoStep {
	return demoStep{"install " + c + " by hand (the " + r.o.API + " API does not offer it)", func() error {
		pkg, err := r.key.Pack(c, r.vers[c], r.imgs[c], true)
		if err != nil {
			return err
		}
		url := r.srv.Host(c+"-"+r.vers[c]+".zip", pkg)
		return r.agent(ctx, "install", "--component", c, "--md5", md5Hex(pkg), "--version", r.vers[c], url)
	}}
}

func (r *run) board() error {
	rc := r.dev.Rig.Config
	r.say("work dir      %s", r.dir)
	r.say("rootfs (ab)   slots %s | %s, U-Boot env %s, scheme %s", rc.Slots["A"], rc.Slots["B"], rc.EnvConfig, rc.Scheme)
	r.say("mcu (stm32)   simulated STM32F103 on %s (AN3155, 8E1 line model)", r.dev.MCUPort)
	r.say("wifi (ymodem) simulated MXChip Wi-Fi module on %s (MXCHIP> menu, FWUPDATE, YMODEM-1K, AN4657-strict)", r.dev.WiFiPort)
	r.say("server        fake %s API on 127.0.0.1", r.o.API)
	r.say("config        %s", r.cfg)
	return nil
}

func (r *run) reboot(ctx context.Context) error {
	before, _ := os.ReadFile(r.dev.Rig.Config.CmdlineFile)
	slot, err := r.dev.Rig.Boot(ctx)
	if err != nil {
		return err
	}
	after, _ := os.ReadFile(r.dev.Rig.Config.CmdlineFile)
	vars, err := r.dev.Rig.Vars(ctx)
	if err != nil {
		return err
	}
	r.say("cmdline before: %s", strings.TrimSpace(string(before)))
	r.say("U-Boot booted slot %s: BOOT_ORDER=%q BOOT_A_LEFT=%s BOOT_B_LEFT=%s", slot, vars["BOOT_ORDER"], vars["BOOT_A_LEFT"], vars["BOOT_B_LEFT"])
	r.say("cmdline after:  %s", strings.TrimSpace(string(after)))
	return nil
}

func (r *run) received() error {
	for _, l := range r.srv.Received() {
		r.say("%s", l)
	}
	return nil
}

// verify compares what the simulated hardware holds with the images.
func (r *run) verify() error {
	slotName := r.slot
	if slotName == "" {
		slotName = "B"
	}
	slot, err := os.ReadFile(r.dev.Rig.Config.Slots[slotName])
	if err != nil {
		return err
	}
	checks := []struct {
		what string
		got  []byte
		want []byte
	}{
		{"slot " + slotName + " holds rootfs " + r.vers["rootfs"], slot[:len(r.imgs["rootfs"])], r.imgs["rootfs"]},
		{"STM32 flash holds mcu " + r.vers["mcu"], r.dev.MCU.Flash()[:len(r.imgs["mcu"])], r.imgs["mcu"]},
		{"MXChip module accepted wifi " + r.vers["wifi"] + " (\"Successfully!\")", r.dev.WiFiImage(), r.imgs["wifi"]},
	}
	for _, c := range checks {
		if !bytes.Equal(c.got, c.want) {
			return fmt.Errorf("%s: no, content differs (md5 %s, want %s)", c.what, md5Hex(c.got), md5Hex(c.want))
		}
		r.say("✓ %s (md5 %s)", c.what, md5Hex(c.want))
		r.sum.Verified = append(r.sum.Verified, c.what)
	}
	return nil
}

// publish offers fws, each packed in a zip with a manifest, signed or not.
func (r *run) publish(fws []Firmware, signed bool) error {
	for i := range fws {
		pkg, err := r.key.Pack(fws[i].Component, fws[i].Version, fws[i].Data, signed)
		if err != nil {
			return err
		}
		fws[i].Data = pkg
	}
	return r.srv.Publish(fws...)
}

// forged offers an unsigned rootfs release and shows update refusing it
// before any byte reaches the inactive slot.
func (r *run) forged(ctx context.Context) error {
	v := "2.9.0" // older than the releases the set steps publish
	if r.o.API == "upgradelink" {
		v = "3"
	}
	comp := r.srv.Offers()[0]
	if err := r.publish([]Firmware{{Component: comp, Version: v, Data: Image(9, 64<<10), UpgradeType: "forced"}}, false); err != nil {
		return err
	}
	if err := r.agent(ctx, "update", "--yes"); err == nil {
		return fmt.Errorf("update installed an unsigned %s %s", comp, v)
	}
	r.say("refused as it must be: %s %s carries no signature by key %s", comp, v, r.key.KeyID())
	return nil
}

// setSteps show one update of three parts: once going through, once with
// the STM32 refusing its image, so that the Wi-Fi module and the rootfs
// are put back.
func (r *run) setSteps(ctx context.Context) []demoStep {
	v := func(semver, code string) string {
		if r.o.API == "upgradelink" {
			return code
		}
		return semver
	}
	next := map[string][]byte{"rootfs": Image(11, 4<<20), "wifi": Image(12, 16<<10), "mcu": Image(13, 16<<10)}
	nextV := map[string]string{"rootfs": v("3.0.0", "4"), "wifi": "1.2.0", "mcu": "1.2.0"}
	bundle := func(rootfsV string, imgs map[string][]byte, vers map[string]string) error {
		pkg, err := r.key.PackSet([]Part{{"rootfs", rootfsV, imgs["rootfs"]}, {"wifi", vers["wifi"], imgs["wifi"]}, {"mcu", vers["mcu"], imgs["mcu"]}}, true)
		if err != nil {
			return err
		}
		r.say("one signed package: rootfs %s, wifi %s, mcu %s (%d bytes)", rootfsV, vers["wifi"], vers["mcu"], len(pkg))
		return r.srv.Publish(Firmware{Component: "rootfs", Version: rootfsV, Data: pkg, UpgradeType: "forced"})
	}
	return []demoStep{
		{"one update, three parts: the rootfs, the Wi-Fi module and the STM32 from one package", func() error {
			if err := bundle(nextV["rootfs"], next, nextV); err != nil {
				return err
			}
			if err := r.agent(ctx, "update", "--yes"); err != nil {
				return err
			}
			if err := r.reboot(ctx); err != nil {
				return err
			}
			r.say("the new slot booted: the parts are flashed now, before its health checks and the commit")
			if err := r.agent(ctx, "commit"); err != nil {
				return err
			}
			r.imgs, r.vers, r.slot = next, nextV, r.other(r.slotOr())
			return nil
		}},
		{"a package the STM32 refuses (its image does not fit): the Wi-Fi module and the rootfs are put back", func() error {
			bad := map[string][]byte{"rootfs": Image(14, 4<<20), "wifi": Image(15, 16<<10), "mcu": Image(16, 160<<10)}
			if err := bundle(v("4.0.0", "5"), bad, map[string]string{"wifi": "1.3.0", "mcu": "1.3.0"}); err != nil {
				return err
			}
			if err := r.agent(ctx, "update", "--yes"); err != nil {
				return err
			}
			if err := r.reboot(ctx); err != nil {
				return err
			}
			if err := r.agent(ctx, "commit"); err == nil {
				return fmt.Errorf("commit accepted an update whose STM32 image does not fit")
			}
			r.say("refused as it must be: the STM32 failed, the Wi-Fi module got %s back, the slot is abandoned", r.vers["wifi"])
			if err := r.reboot(ctx); err != nil {
				return err
			}
			return r.agent(ctx, "status")
		}},
	}
}

func (r *run) slotOr() string {
	if r.slot == "" {
		return "B"
	}
	return r.slot
}

func (r *run) other(s string) string {
	if s == "A" {
		return "B"
	}
	return "A"
}
