#!/bin/sh
# build.sh OUT AGENT: builds the QEMU board (README "The board in QEMU") into
# directory OUT from the arm64 ota-agent binary AGENT:
#   OUT/rootfs/          arm64 Debian bookworm (minbase, systemd, kernel, initramfs)
#   OUT/slot-1.0.0.ext4  slot image of version 1.0.0 (booted first, in A)
#   OUT/slot-2.0.0.ext4  version 2.0.0 (the update)
#   OUT/slot-2.1.0.ext4  version 2.1.0, whose health check fails
#   OUT/boot.scr         the U-Boot script (boot.cmd), RAUC boot counting
#   OUT/disk.img         GPT: 1 boot (boot.scr), 2 U-Boot env, 3 root A, 4 root B, 5 data
# Needs root, mmdebstrap, qemu-user-static with binfmt_misc, mkimage,
# mkenvimage, mkfs.ext4 and sfdisk. It never touches a block device: every
# file system is made in a file (mkfs.ext4 -d) and copied into disk.img.
set -eu

OUT=$1
AGENT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
SUITE=${BOARD_SUITE:-bookworm}
MIRROR=${BOARD_MIRROR:-http://deb.debian.org/debian}
SLOT_MB=${BOARD_SLOT_MB:-288}
DATA_MB=64
ENV_SIZE=0x4000

say() { echo "board: $*" >&2; }

need() {
	for t in "$@"; do
		command -v "$t" >/dev/null || { say "$t not found: apt-get install mmdebstrap qemu-user-static binfmt-support u-boot-tools e2fsprogs fdisk qemu-system-arm u-boot-qemu"; exit 1; }
	done
}

# binfmt makes sure arm64 programs run here (the rootfs's maintainer scripts).
binfmt() {
	[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
	[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64
	[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || { say "qemu-aarch64 is not registered in binfmt_misc: install qemu-user-static"; exit 1; }
}

# rootfs bootstraps OUT/rootfs: minbase with systemd, udev and the cloud
# kernel; the initramfs holds only the modules that find the root slot.
rootfs() {
	rm -rf "$OUT/rootfs" "$OUT/rootfs.tmp"
	mmdebstrap --arch=arm64 --variant=minbase \
		--include=systemd,systemd-sysv,udev,kmod,initramfs-tools,linux-image-cloud-arm64 \
		--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
		--essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" && echo MODULES=list > "$1/etc/initramfs-tools/conf.d/board" && printf "virtio_pci\nvirtio_blk\next4\n" >> "$1/etc/initramfs-tools/modules"' \
		"$SUITE" "$OUT/rootfs.tmp" "$MIRROR"
	trim "$OUT/rootfs.tmp"
	mv "$OUT/rootfs.tmp" "$OUT/rootfs"
}

# trim drops what the board never uses from ROOT, to keep the slots (and the
# update's download) small: device trees (QEMU passes its own), udev's
# hardware database, and every kernel module but virtio's and its deps.
trim() {
	m=$(ls -d "$1"/usr/lib/modules/*)
	rm -rf "$1"/usr/lib/linux-image-* "$1/usr/lib/udev/hwdb.bin" "$1"/usr/lib/udev/hwdb.d/*
	rm -rf "$m"/kernel/fs "$m"/kernel/crypto "$m"/kernel/lib "$m"/kernel/sound "$m"/kernel/arch
	find "$m/kernel/net" -mindepth 1 -maxdepth 1 ! -name core -exec rm -rf {} +
	find "$m/kernel/drivers" -mindepth 1 -maxdepth 1 ! -name virtio ! -name block ! -name net ! -name char -exec rm -rf {} +
	find "$m/kernel/drivers/net" -name '*.ko*' ! -name 'virtio_net.ko*' ! -name 'net_failover.ko*' -delete
	chroot "$1" depmod "$(basename "$m")"
}

# slot VERSION [HEALTH]: OUT/slot-VERSION.ext4 from the rootfs, with
# /etc/fw-version and a health check that passes (or exits HEALTH).
slot() {
	v=$1
	rc=${2:-0}
	echo "$v" > "$OUT/rootfs/etc/fw-version"
	printf '#!/bin/sh\n# board-health: the agent'"'"'s ab.health on the board (version %s).\nexit %s\n' "$v" "$rc" > "$OUT/rootfs/usr/local/sbin/board-health"
	chmod 0755 "$OUT/rootfs/usr/local/sbin/board-health"
	rm -f "$OUT/slot-$v.ext4"
	mkfs.ext4 -q -F -L "root-$v" -E root_owner=0:0 -d "$OUT/rootfs" "$OUT/slot-$v.ext4" "${SLOT_MB}M"
}

# disk assembles OUT/disk.img: version 1.0.0 in A and in B (B is written by
# the update), an empty data partition and a U-Boot env with both slots good.
disk() {
	mkimage -q -A arm64 -O linux -T script -C none -n "ota-agent board" -d "$HERE/boot.cmd" "$OUT/boot.scr"
	mkdir -p "$OUT/bootfs" && cp "$OUT/boot.scr" "$OUT/bootfs/boot.scr"
	mkfs.ext4 -q -F -L boot -d "$OUT/bootfs" "$OUT/boot.ext4" 8M
	printf 'BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n' | mkenvimage -s $ENV_SIZE -o "$OUT/env.bin" -
	mkfs.ext4 -q -F -L data "$OUT/data.ext4" "${DATA_MB}M"
	total=$((1 + 8 + 1 + 2 * SLOT_MB + DATA_MB + 1))
	rm -f "$OUT/disk.img" && truncate -s "${total}M" "$OUT/disk.img"
	sfdisk -q "$OUT/disk.img" <<-EOF
	label: gpt
	start=1MiB, size=8MiB, name=boot, attrs=LegacyBIOSBootable
	size=1MiB, name=uboot-env
	size=${SLOT_MB}MiB, name=rootfs-a
	size=${SLOT_MB}MiB, name=rootfs-b
	size=${DATA_MB}MiB, name=data
	EOF
	put boot.ext4 1
	put env.bin 9
	put slot-1.0.0.ext4 10
	put slot-1.0.0.ext4 $((10 + SLOT_MB))
	put data.ext4 $((10 + 2 * SLOT_MB))
}

# put FILE MIB copies OUT/FILE into disk.img at MIB MiB.
put() { dd if="$OUT/$1" of="$OUT/disk.img" bs=1M seek="$2" conv=notrunc,sparse status=none; }

# unmount undoes, deepest first, every mount left under OUT (customize.sh's
# /proc in the rootfs, mmdebstrap's in rootfs.tmp) however the build ends: a
# proc mounted under bin/ would send `go vet ./...` into it.
unmount() {
	awk -v p="$OUT/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" || say "could not unmount $m: umount it by hand"
	done
}

need mmdebstrap mkimage mkenvimage mkfs.ext4 sfdisk
[ "$(id -u)" = 0 ] || { say "needs root (mmdebstrap, chroot, file ownership)"; exit 1; }
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
trap unmount EXIT
# A go.mod makes OUT a module of its own, which `go vet ./...` and
# `go test ./...` of the repository skip: they never walk the rootfs, not
# even while /proc is mounted in it (they stop at proc's unreadable files).
if [ ! -e "$OUT/go.mod" ] || grep -q 'keeps ./... out of the board' "$OUT/go.mod"; then
	printf '// Not Go: testdata/board/build.sh keeps ./... out of the board.\nmodule board\n' > "$OUT/go.mod"
fi
trap 'exit 130' INT TERM HUP
AGENT=$(cd "$(dirname "$AGENT")" && pwd)/$(basename "$AGENT")
binfmt
start=$(date +%s)
if [ ! -e "$OUT/rootfs.stamp" ] || [ "$0" -nt "$OUT/rootfs.stamp" ]; then
	say "bootstrapping the arm64 rootfs (mmdebstrap, a few minutes)"
	rootfs
	touch "$OUT/rootfs.stamp"
fi
"$HERE/customize.sh" "$OUT/rootfs" "$AGENT" "$HERE"
slot 2.1.0 1
slot 2.0.0
slot 1.0.0
disk
say "built in $(($(date +%s) - start)) s; disk use $(du -sh "$OUT" | cut -f1) (apparent $(du -sh --apparent-size "$OUT" | cut -f1))"
