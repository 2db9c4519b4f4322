# boot.cmd: U-Boot script of the QEMU board (build.sh makes boot.scr of it
# with mkimage). RAUC's contrib/uboot.sh boot counting: BOOT_ORDER names the
# slots in order, BOOT_<slot>_LEFT the attempts each has left; the first
# slot with attempts left loses one and boots, with root= and rauc.slot= on
# the kernel command line. No slot left: every slot gets 3 again and the
# board resets. ota-agent writes the same variables (scheme "rauc").
#
# qemu_arm64's U-Boot keeps its own environment in flash; the A/B variables
# live on the disk instead, in the env partition (GPT 2 of virtio 0, 16 KiB
# at sector 0x4800 = 9 MiB, /etc/fw_env.config in Linux): imported here,
# changed, exported and written back before the kernel loads.

setenv envaddr 0x4f000000
setenv envsect 0x4800
setenv envcnt 0x20
setenv envsize 0x4000

if virtio read ${envaddr} ${envsect} ${envcnt} && env import -c ${envaddr} ${envsize}; then
	echo "board: A/B env: BOOT_ORDER=${BOOT_ORDER} BOOT_A_LEFT=${BOOT_A_LEFT} BOOT_B_LEFT=${BOOT_B_LEFT}"
else
	echo "board: A/B env unreadable, defaults"
fi
test -n "${BOOT_ORDER}" || setenv BOOT_ORDER "A B"
test -n "${BOOT_A_LEFT}" || setenv BOOT_A_LEFT 3
test -n "${BOOT_B_LEFT}" || setenv BOOT_B_LEFT 3

setenv bootpart
setenv raucslot
for BOOT_SLOT in "${BOOT_ORDER}"; do
	if test "x${bootpart}" != "x"; then
		setenv skipped ${BOOT_SLOT}
	elif test "x${BOOT_SLOT}" = "xA"; then
		if test ${BOOT_A_LEFT} -gt 0; then
			setexpr BOOT_A_LEFT ${BOOT_A_LEFT} - 1
			echo "board: found valid slot A, ${BOOT_A_LEFT} attempts remaining"
			setenv bootpart 3
			setenv raucslot A
		fi
	elif test "x${BOOT_SLOT}" = "xB"; then
		if test ${BOOT_B_LEFT} -gt 0; then
			setexpr BOOT_B_LEFT ${BOOT_B_LEFT} - 1
			echo "board: found valid slot B, ${BOOT_B_LEFT} attempts remaining"
			setenv bootpart 4
			setenv raucslot B
		fi
	fi
done

if test -z "${bootpart}"; then
	echo "board: no valid slot found, resetting tries to 3"
	setenv BOOT_A_LEFT 3
	setenv BOOT_B_LEFT 3
fi
env export -c -s ${envsize} ${envaddr} BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT
virtio write ${envaddr} ${envsect} ${envcnt}
test -n "${bootpart}" || reset

setenv bootargs "console=ttyAMA0,115200 root=/dev/vda${bootpart} rauc.slot=${raucslot} rw rootwait panic=5 systemd.show_status=error"
echo "board: booting slot ${raucslot} (virtio 0:${bootpart})"
ext4load virtio 0:${bootpart} ${kernel_addr_r} /boot/vmlinuz
ext4load virtio 0:${bootpart} ${ramdisk_addr_r} /boot/initrd.img
booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdt_addr}
echo "board: boot of slot ${raucslot} failed"
reset
