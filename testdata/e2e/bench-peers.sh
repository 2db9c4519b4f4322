#!/usr/bin/env bash
# bench-peers.sh OTA_AGENT - time ota-agent's A/B install next to Mender, RAUC and SWUpdate (Debian 12
# packages), `dd conv=fsync` and `curl | dd`, in one run, on the same loop-device slot (see README
# "Measured figures"). Run as root through `make bench-peers`; it never runs in `make test`.
#
#   N=3 WARMUP=1 SIZE_MB=256 W=/var/tmp/ota-bench-peers testdata/e2e/bench-peers.sh bin/ota-agent
#   ROWS="dd ota-agent" ...          # a subset, in this order
#
# dd-readback is dd followed by reading the slot back with O_DIRECT (not compared): the I/O that any install
# which reads every byte back from the medium cannot avoid, done one after the other.
# Every row writes one ext4 image of SIZE_MB MiB into slot B (a loop device with --direct-io=on), from a
# file and from a loopback HTTP server. Before each run the slot is put back to the previous release
# (written O_DIRECT) and the U-Boot env to its pristine copy; after it the slot content is compared with
# the image and the env with what the tool must have set. The row order rotates every round. Each run is
# timed around the command (wall clock) under GNU time (peak RSS); RAUC's work happens in `rauc service`,
# whose VmHWM is added. It prints one table (median, min, max, MiB/s, peak RSS, ratio to dd) and writes
# $OUT.json and $OUT.txt. Everything it builds stays under $W; it runs in a private mount namespace
# (tmpfs on /run/lock, overlay on /etc for /etc/fw_env.config and /etc/mender/artifact_info) and changes
# nothing outside $W. The way each peer is driven follows ../shared/tools/peerbench.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MiB=$((1024 * 1024))
log() { printf '[bench-peers %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (apt-get, losetup, mount, unshare)"
[ $# -ge 1 ] || die "usage: $0 PATH/TO/ota-agent"
AGENT=$(realpath "$1")
[ -x "$AGENT" ] || die "$AGENT is not an executable ota-agent (run make build)"
N=${N:-3}
WARMUP=${WARMUP:-1}
SIZE_MB=${SIZE_MB:-256}
SLOT_MB=${SLOT_MB:-320}
W=${W:-/var/tmp/ota-bench-peers}
OUT=${OUT:-$(dirname "$AGENT")/bench-peers}
ROWS=${ROWS:-"dd dd-readback curl-dd ota-agent ota-agent-url mender mender-url rauc rauc-url swupdate swupdate-url dd-near ota-agent-near ota-agent-skip-near ota-agent-skip"}
export AGENT N WARMUP SIZE_MB SLOT_MB W OUT ROWS HERE

# ---------------------------------------------------------------------------------------------------
# setup (outside the namespace): packages and inputs, built once under $W
# ---------------------------------------------------------------------------------------------------
install_packages() {
	local p missing=()
	for p in mender-client mender-artifact swupdate rauc libubootenv-tool u-boot-tools squashfs-tools cpio \
		e2fsprogs openssl dbus dbus-bin time curl python3 util-linux; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=900 install -y "${missing[@]}" >&2 ||
		{ apt-get -o DPkg::Lock::Timeout=900 update >&2 && apt-get -o DPkg::Lock::Timeout=900 install -y "${missing[@]}" >&2; }
}

# build_image OUT TAG: an ext4 of SIZE_MB MiB holding ~78 % pseudo-random payload (fixed AES-CTR stream).
build_image() {
	local img=$1 tag=$2 tree="$W/img/tree-$2"
	[ -s "$img" ] && return
	log "building $img"
	rm -rf "$tree"; mkdir -p "$tree/etc"
	head -c "$((SIZE_MB * 200 / 256 * MiB))" /dev/zero |
		openssl enc -aes-128-ctr -nosalt -pass "pass:ota-bench-$tag" -pbkdf2 2>/dev/null >"$tree/payload.bin"
	printf 'ID=ota-bench\nVERSION_ID=%s\n' "$tag" >"$tree/etc/os-release"
	E2FSPROGS_FAKE_TIME=1700000000 mkfs.ext4 -q -F -L rootfs -d "$tree" "$img.tmp" "${SIZE_MB}M"
	mv "$img.tmp" "$img"
	rm -rf "$tree"
}

# build_near: the image with 1 MiB changed every 32 MiB (8 of 256 MiB): the slot a "-near" row starts from,
# a mostly unchanged image (for ab.skip_unchanged).
build_near() {
	local near="$W/img/rootfs-near.ext4" i
	[ -s "$near" ] && return
	log "building $near"
	cp "$IMG" "$near.tmp"
	for i in $(seq 0 $((SIZE_MB / 32 - 1))); do
		head -c "$MiB" /dev/zero | openssl enc -aes-128-ctr -nosalt -pass "pass:ota-bench-near-$i" -pbkdf2 2>/dev/null |
			dd of="$near.tmp" bs=1M seek=$((i * 32 + 5)) conv=notrunc status=none
	done
	mv "$near.tmp" "$near"
}

build_keys_env() {
	local k="$W/keys"
	if [ ! -s "$k/cert.pem" ]; then
		openssl req -x509 -newkey rsa:2048 -nodes -keyout "$k/key.pem" -out "$k/cert.pem" -days 3650 -subj /CN=ota-bench \
			-addext extendedKeyUsage=emailProtection -addext keyUsage=digitalSignature 2>/dev/null
		openssl pkey -in "$k/key.pem" -pubout -out "$k/pub.pem"
		openssl rsa -in "$k/key.pem" -traditional -out "$k/key-rsa.pem" 2>/dev/null # mender-artifact wants PKCS#1
	fi
	printf '%s 0x0 0x4000\n' "$W/env/uboot.env" >"$W/env/fw_env.config"
}

build_slots() {
	local t="$W/slots/tree" d
	if [ ! -s "$W/slots/slotA.img" ]; then # the running rootfs: Mender's chroot needs its mount points
		rm -rf "$t"; mkdir -p "$t"
		for d in usr dev proc sys etc tmp var run; do mkdir -p "$t/$d"; done
		for d in bin sbin lib lib32 lib64 libx32; do
			if [ -L "/$d" ]; then ln -s "$(readlink "/$d")" "$t/$d"; elif [ -d "/$d" ]; then mkdir -p "$t/$d"; fi
		done
		mkfs.ext4 -q -F -L slotA -d "$t" "$W/slots/slotA.img" "${SLOT_MB}M"
		rm -rf "$t"
	fi
	[ -s "$W/slots/slotB.img" ] || truncate -s "$((SLOT_MB * MiB))" "$W/slots/slotB.img"
}

build_mender() {
	local a="$W/www/rootfs.mender"
	[ -s "$a" ] && return
	log "building $a"
	mender-artifact write rootfs-image -f "$IMG" -t bench-device -n bench-v2 --compression none \
		-k "$W/keys/key-rsa.pem" --no-progress -o "$a.tmp" >"$W/logs/mender-artifact.log" 2>&1 ||
		die "mender-artifact failed (see $W/logs/mender-artifact.log)"
	mv "$a.tmp" "$a"
}

# build_swu: CMS-signed sw-description, raw handler installed directly into $W/dev/slotB, U-Boot env.
build_swu() {
	local out="$W/www/rootfs.swu" d="$W/swupdate/build"
	[ -s "$out" ] && return
	log "building $out"
	rm -rf "$d"; mkdir -p "$d"
	ln "$IMG" "$d/rootfs.ext4"
	cat >"$d/sw-description" <<EOF
software = { version = "2.0.0"; hardware-compatibility = [ "1.0" ];
  stable = { main = {
    images: ( { filename = "rootfs.ext4"; device = "$W/dev/slotB"; type = "raw";
                sha256 = "$(sha256sum <"$IMG" | cut -d' ' -f1)"; installed-directly = true; } );
    bootenv: ( { name = "boot_part"; value = "B"; }, { name = "upgrade_available"; value = "1"; },
               { name = "bootcount"; value = "0"; } );
  }; };
}
EOF
	openssl cms -sign -in "$d/sw-description" -out "$d/sw-description.sig" -signer "$W/keys/cert.pem" \
		-inkey "$W/keys/key.pem" -outform DER -nosmimecap -binary
	(cd "$d" && printf '%s\n' sw-description sw-description.sig rootfs.ext4 | cpio -o -H crc --quiet) >"$out.tmp"
	mv "$out.tmp" "$out"
	rm -rf "$d"
}

build_rauc() {
	local b="$W/www/rootfs.raucb" d="$W/rauc/bundle"
	[ -s "$b" ] && return
	log "building $b"
	rm -rf "$d"; mkdir -p "$d"
	ln "$IMG" "$d/rootfs.ext4"
	printf '[update]\ncompatible=bench-device\nversion=2.0.0\n\n[bundle]\nformat=plain\n\n[image.rootfs]\nfilename=rootfs.ext4\n' \
		>"$d/manifest.raucm"
	rauc bundle --cert="$W/keys/cert.pem" --key="$W/keys/key.pem" --mksquashfs-args="-noI -noD -noF -noX" \
		"$d" "$b.tmp" >"$W/logs/rauc-bundle.log" 2>&1 || die "rauc bundle failed (see $W/logs/rauc-bundle.log)"
	mv "$b.tmp" "$b"
	rm -rf "$d"
}

setup() {
	install_packages
	mkdir -p "$W"/{img,keys,env,slots,mender,swupdate,rauc,www,logs,dev,ns,agent}
	W=$(realpath "$W")
	IMG="$W/www/rootfs.ext4"
	build_image "$IMG" v2
	build_image "$W/img/rootfs-v1.ext4" v1
	build_near
	build_keys_env
	build_slots
	build_mender
	build_swu
	build_rauc
}

if [ "${BENCH_PEERS_IN_NS:-}" != 1 ]; then
	setup
	export BENCH_PEERS_IN_NS=1 W
	exec unshare -m --propagation private -- bash "$0" "$@"
fi

# ---------------------------------------------------------------------------------------------------
# inside a private mount namespace
# ---------------------------------------------------------------------------------------------------
IMG="$W/www/rootfs.ext4"
IMG_OLD="$W/img/rootfs-v1.ext4"
IMG_NEAR="$W/img/rootfs-near.ext4"
IMG_BYTES=$(stat -c %s "$IMG")
SHA=$(sha256sum <"$IMG" | cut -d' ' -f1)
FWCFG="$W/env/fw_env.config"
TSV="$W/logs/runs.tsv"
: >"$TSV"
PIDS=() LOOPS=() RAUC_PID=""
MROOT="$W/mender/root"

cleanup() {
	local rc=$? p l
	set +e
	rauc_stop
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	mountpoint -q "$MROOT" && { umount -R "$MROOT" || umount -R -l "$MROOT"; }
	for l in "${LOOPS[@]}"; do losetup -d "$l" || log "could not detach $l"; done
	rm -f "$W/dev/slotB"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

private_etc() {
	mount -t tmpfs -o mode=1777 bench-lock "$(readlink -f /var/lock)" # libubootenv's fw_printenv.lock
	rm -rf "$W/ns/up" "$W/ns/work"; mkdir -p "$W/ns/up" "$W/ns/work"
	mount -t overlay bench-etc -o "lowerdir=/etc,upperdir=$W/ns/up,workdir=$W/ns/work" /etc
	cp "$FWCFG" /etc/fw_env.config # compiled into SWUpdate; RAUC's fw_* read it too
	mkdir -p /etc/mender
	echo "artifact_name=bench-v1" >/etc/mender/artifact_info
}

attach_loops() {
	LOOPA=$(losetup -f --show --direct-io=on "$W/slots/slotA.img"); LOOPS+=("$LOOPA")
	LOOPB=$(losetup -f --show --direct-io=on "$W/slots/slotB.img"); LOOPS+=("$LOOPB")
	ln -sfn "$LOOPB" "$W/dev/slotB"
	NUMA=${LOOPA##*[!0-9]} NUMB=${LOOPB##*[!0-9]}
	log "slot A = $LOOPA, slot B = $LOOPB (direct-io), image $IMG_BYTES bytes, sha256 $SHA"
}

# pristine env: every peer's variables; Mender's active partition is loop A's number
make_env() {
	printf '%s\n' "bootcmd=run distro_bootcmd" bootlimit=1 bootcount=0 upgrade_available=0 \
		"mender_boot_part=$NUMA" "mender_boot_part_hex=$(printf %x "$NUMA")" boot_part=A ustate=0 \
		"BOOT_ORDER=A B" BOOT_A_LEFT=3 BOOT_B_LEFT=3 >"$W/env/vars.txt"
	mkenvimage -s 0x4000 -o "$W/env/uboot.env.pristine" "$W/env/vars.txt"
}

# Mender finds the active partition by `mount` and stat("/"): it runs chrooted in slot A's ext4.
setup_mender() {
	local d
	mkdir -p "$MROOT"
	mount "$LOOPA" "$MROOT"
	mount --bind /usr "$MROOT/usr"
	for d in bin sbin lib lib32 lib64 libx32; do
		if [ -d "/$d" ] && [ ! -L "/$d" ]; then mkdir -p "$MROOT/$d"; mount --bind "/$d" "$MROOT/$d"; fi
	done
	mount --rbind /dev "$MROOT/dev"; mount -t proc proc "$MROOT/proc"; mount --bind /sys "$MROOT/sys"
	for d in etc tmp var; do mount --bind "/$d" "$MROOT/$d"; done # not --rbind: $W may be under /var
	mount --rbind /run "$MROOT/run"
	mkdir -p "$MROOT$W"; mount --bind "$W" "$MROOT$W"
	cat >"$W/mender/mender.conf" <<EOF
{ "RootfsPartA": "$LOOPA", "RootfsPartB": "$LOOPB",
  "BootUtilitiesSetActivePart": "/usr/bin/fw_setenv", "BootUtilitiesGetNextActivePart": "/usr/bin/fw_printenv",
  "DeviceTypeFile": "$W/mender/data/device_type", "ArtifactVerifyKey": "$W/keys/pub.pem",
  "ServerURL": "https://127.0.0.1" }
EOF
}

setup_rauc() {
	cat >"$W/rauc/system.conf" <<EOF
[system]
compatible=bench-device
bootloader=uboot
mountprefix=$W/rauc/mnt
data-directory=$W/rauc/data
max-bundle-download-size=4294967296

[keyring]
path=$W/keys/cert.pem

[slot.rootfs.0]
device=$LOOPA
type=raw
bootname=A

[slot.rootfs.1]
device=$LOOPB
type=raw
bootname=B
EOF
	mkdir -p "$W/rauc/mnt" "$W/rauc/data" "$W/rauc/tmp"
	rm -f "$W/rauc/bus"
	dbus-daemon --session --nofork --nopidfile --address="unix:path=$W/rauc/bus" >"$W/logs/dbus.log" 2>&1 &
	PIDS+=($!)
	export DBUS_SESSION_BUS_ADDRESS="unix:path=$W/rauc/bus"
	wait_for "[ -S $W/rauc/bus ]" || die "dbus-daemon did not start (see $W/logs/dbus.log)"
}

# ota-agent: a throwaway config for slot B and the same env (RAUC's variables)
setup_agent() {
	echo "console=ttyAMA0 rauc.slot=A" >"$W/agent/cmdline"
	cat >"$W/agent/agent.toml" <<EOF
[device]
id = "bench"
model = "bench"
state_dir = "$W/agent/state"
[server]
api = "akaso"
base_url = "http://127.0.0.1:9/akaso"
insecure_http = true
[server.akaso]
language = "EN"
component = "rootfs"
[[component]]
name = "rootfs"
type = "ab"
version = "1"
[component.ab]
slots = { A = "$LOOPA", B = "$W/dev/slotB" }
bootloader = "uboot"
env_config = "$FWCFG"
scheme = "rauc"
attempts = 3
cmdline_file = "$W/agent/cmdline"
reboot = []
health = []
EOF
	sed 's/^\[component.ab\]$/&\nskip_unchanged = true/' "$W/agent/agent.toml" >"$W/agent/agent-skip.toml"
}

wait_for() { local i; for i in $(seq 200); do eval "$1" && return 0; sleep 0.025; done; return 1; }

start_http() {
	PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	python3 -m http.server --bind 127.0.0.1 --directory "$W/www" "$PORT" >"$W/logs/http.log" 2>&1 &
	PIDS+=($!)
	URL="http://127.0.0.1:$PORT"
	wait_for "curl -sf -o /dev/null $URL/" || die "http server did not start (see $W/logs/http.log)"
}

rauc_start() { # a fresh service per run (untimed), so its VmHWM is this run's
	rm -rf "$W/rauc/data"/* "$W/rauc/tmp"/*
	DBUS_STARTER_BUS_TYPE=session TMPDIR="$W/rauc/tmp" rauc service --conf="$W/rauc/system.conf" \
		--override-boot-slot=A >>"$W/logs/rauc-service.log" 2>&1 &
	RAUC_PID=$!
	wait_for "dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus.NameHasOwner string:de.pengutronix.rauc 2>/dev/null | grep -q 'boolean true'" ||
		die "rauc service did not come up (see $W/logs/rauc-service.log)"
}
rauc_stop() {
	[ -n "$RAUC_PID" ] || return 0
	kill "$RAUC_PID" 2>/dev/null; wait "$RAUC_PID" 2>/dev/null || true
	RAUC_PID=""
}

# reset ROW: slot B back to the previous release (O_DIRECT, nothing cached or dirty), or for a "-near" row to
# the mostly unchanged image; env pristine, tool state gone
reset_all() {
	local from="$IMG_OLD"
	case $1 in *-near) from="$IMG_NEAR" ;; esac
	dd if="$from" of="$LOOPB" bs=1M oflag=direct conv=fsync status=none
	blockdev --flushbufs "$LOOPB"
	cp "$W/env/uboot.env.pristine" "$W/env/uboot.env"; sync "$W/env/uboot.env"
	rm -rf "$W/agent/state" "$W/mender/data" "$W/swupdate/tmp"
	mkdir -p "$W/mender/data" "$W/swupdate/tmp"
	echo "device_type=bench-device" >"$W/mender/data/device_type"
}

# row_cmd ROW: the install command of a row, in CMD
row_cmd() {
	local M=(chroot "$MROOT" /usr/bin/mender -c "$W/mender/mender.conf" -d "$W/mender/data" --no-syslog)
	local S=(env TMPDIR="$W/swupdate/tmp" swupdate -k "$W/keys/cert.pem" -H bench-board:1.0 -B uboot -e stable,main)
	local A=("$AGENT" -c "$W/agent/agent.toml" install --component rootfs --version "bench-$RANDOM" --sha256 "$SHA")
	local AS=("$AGENT" -c "$W/agent/agent-skip.toml" install --component rootfs --version "bench-$RANDOM" --sha256 "$SHA")
	case $1 in
	dd | dd-near) CMD=(dd if="$IMG" of="$LOOPB" bs=1M conv=fsync status=none) ;;
	dd-readback) CMD=(sh -c 'dd if="$1" of="$2" bs=1M conv=fsync status=none &&
		dd if="$2" of=/dev/null bs=4M count="$3" iflag=direct,count_bytes status=none' - "$IMG" "$LOOPB" "$IMG_BYTES") ;;
	curl-dd) CMD=(sh -c 'curl -sS --fail "$1" | dd of="$2" bs=1M iflag=fullblock conv=fsync status=none' - \
		"$URL/rootfs.ext4" "$LOOPB") ;;
	ota-agent | ota-agent-near) CMD=("${A[@]}" "$IMG") ;;
	ota-agent-skip | ota-agent-skip-near) CMD=("${AS[@]}" "$IMG") ;;
	ota-agent-url) CMD=("${A[@]}" "$URL/rootfs.ext4") ;;
	mender) CMD=("${M[@]}" install "$W/www/rootfs.mender") ;;
	mender-url) CMD=("${M[@]}" install "$URL/rootfs.mender") ;;
	rauc) CMD=(env DBUS_STARTER_BUS_TYPE=session rauc install "$W/www/rootfs.raucb") ;;
	rauc-url) CMD=(env DBUS_STARTER_BUS_TYPE=session rauc install "$URL/rootfs.raucb") ;;
	swupdate) CMD=("${S[@]}" -i "$W/www/rootfs.swu") ;;
	swupdate-url) CMD=("${S[@]}" -d "-u $URL/rootfs.swu") ;;
	*) die "unknown row $1" ;;
	esac
}

# expect_env ROW: name=value pairs the env must hold afterwards (%20 = a space, name= = unset)
expect_env() {
	case $1 in
	mender*) echo "mender_boot_part=$NUMB mender_boot_part_hex=$(printf %x "$NUMB") upgrade_available=1" ;;
	rauc*) echo "BOOT_ORDER=B%20A BOOT_B_LEFT=3" ;;
	swupdate*) echo "boot_part=B upgrade_available=1 ustate=1" ;;
	ota-agent*) echo "BOOT_ORDER=B%20A BOOT_B_LEFT=3" ;;
	*) echo "" ;;
	esac
}

check_env() {
	local kv k v got bad=0
	for kv in $1; do
		k=${kv%%=*} v=${kv#*=}; v=${v//%20/ }
		got=$(fw_printenv -c "$FWCFG" -n "$k" 2>/dev/null || true)
		[ "$got" = "$v" ] || { printf "%s=%q(want %q) " "$k" "$got" "$v"; bad=1; }
	done
	return $bad
}

# run_one ROW RUN: reset, time, check; appends "row src run wall_s rss_kib svc_kib ok note" to $TSV
run_one() {
	local row=$1 run=$2 t0 t1 rc=0 rss svc=0 ok=1 note="" src=file
	case $row in *-url | curl-dd) src=http ;; esac
	reset_all "$row"
	row_cmd "$row"
	case $row in rauc*) rauc_start ;; esac
	t0=$(date +%s%N)
	/usr/bin/time -f '%M' -o "$W/logs/time.txt" -- "${CMD[@]}" </dev/null >>"$W/logs/$row.log" 2>&1 || rc=$?
	t1=$(date +%s%N)
	rss=$(tail -1 "$W/logs/time.txt")
	case $row in rauc*)
		svc=$(awk '/^VmHWM:/{print $2}' "/proc/$RAUC_PID/status" 2>/dev/null || echo 0)
		rauc_stop ;;
	esac
	[ "$rc" = 0 ] || { ok=0; note+="rc=$rc;"; }
	blockdev --flushbufs "$LOOPB"
	cmp -s -n "$IMG_BYTES" "$IMG" "$LOOPB" || { ok=0; note+="content-mismatch;"; }
	local mis
	mis=$(check_env "$(expect_env "$row")") || { ok=0; note+="env:${mis// /;}"; }
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$row" "$src" "$run" \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", (b-a)/1e9}')" "$rss" "${svc:-0}" "$ok" "${note:--}" >>"$TSV"
	log "$(printf '%-14s run %-3s %ss %s' "$row" "$run" "$(tail -1 "$TSV" | cut -f4)" "$([ $ok = 1 ] && echo ok || echo "FAIL $note")")"
}

main() {
	private_etc
	attach_loops
	make_env
	setup_mender
	setup_rauc
	setup_agent
	start_http
	local rows=($ROWS) r i k
	for r in "${rows[@]}"; do for i in $(seq "$WARMUP"); do run_one "$r" "w$i"; done; done
	for i in $(seq "$N"); do
		k=$(((i - 1) % ${#rows[@]}))
		for r in "${rows[@]:k}" "${rows[@]:0:k}"; do run_one "$r" "$i"; done
	done
	local meta
	meta="$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
	awk -F'\t' -v bytes="$IMG_BYTES" -v meta="$meta" -v json="$OUT.json" -v order="$ROWS" \
		-v versions="$(dpkg-query -W -f='${Package} ${Version}, ' mender-client rauc swupdate 2>/dev/null)" \
		-f "$HERE/benchpeers.awk" "$TSV" | tee "$OUT.txt"
	log "table: $OUT.txt, JSON: $OUT.json, every run: $TSV"
}
main
