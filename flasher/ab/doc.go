// Package ab updates a root filesystem kept on two slots (A/B): it writes
// the inactive slot (Slot), arms it in the bootloader environment with boot
// counting, and commits or rolls back after the reboot (Target implements
// flasher.ABTarget, SPEC §5).
//
// # Bootloaders and schemes
//
// The environment is a U-Boot environment located by fw_env.config
// (platform/ubootenv) or a GRUB grubenv (platform/grubenv). On either, one
// of two schemes names the variables, exactly as their projects do:
//
//   - rauc on U-Boot (contrib/uboot.sh): BOOT_ORDER (space-separated slot
//     names, first tried first) and BOOT_<slot>_LEFT (boot attempts left).
//     The boot script takes the first slot in BOOT_ORDER with attempts
//     left, decrements it and boots it; a slot never committed runs out and
//     the next one boots (rollback).
//   - rauc on GRUB (contrib/grub.conf, src/bootloaders/grub.c): ORDER,
//     <slot>_OK and <slot>_TRY. The script boots the first slot in ORDER
//     with _OK=1 and _TRY=0 and sets its _TRY=1, so a slot gets one try;
//     Commit (mark-good) sets _TRY=0 again. Attempts does not apply.
//   - mender: mender_boot_part (the slot's partition number, decimal),
//     mender_boot_part_hex, upgrade_available, bootcount and bootlimit. With
//     upgrade_available=1 the bootloader counts boots; beyond bootlimit it
//     swaps to the other partition and clears upgrade_available. The
//     partition numbers come from Config.Partitions or from the kernel
//     (PartitionNumber); on GRUB the environment may be
//     grub-mender-grubenv's two copies (LayoutMender, grubenv.Pair).
//
// Every Arm, Commit and Rollback is one environment store (on
// grub-mender-grubenv, one store of each copy in turn), so a power cut
// leaves either the old or the new choice, never a mix.
//
// # Booted slot
//
// Booted reads ota.slot= or rauc.slot= from the kernel command line, else
// matches root= or the device mounted at / against the slot devices, else
// asks the environment (mender_boot_part; for rauc the first slot in
// BOOT_ORDER with attempts left, on GRUB the one slot with _OK=1 _TRY=1).
package ab
