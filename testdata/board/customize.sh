#!/bin/sh
# customize.sh ROOT AGENT HERE: puts ota-agent (arm64 binary AGENT), its
# configuration and the board's system configuration into the bootstrapped
# rootfs ROOT, and installs the service with `ota-agent service install`
# run inside ROOT (arm64, through qemu-user and binfmt_misc).
set -eu
R=$1
AGENT=$2
HERE=$3

install -D -m 0755 "$AGENT" "$R/usr/local/bin/ota-agent"
install -D -m 0644 "$HERE/agent.toml" "$R/etc/ota-agent/agent.toml"
install -D -m 0644 "$HERE/fw_env.config" "$R/etc/fw_env.config"
mkdir -p "$R/var/lib/ota-agent" "$R/usr/local/sbin"

# U-Boot loads the kernel and initramfs by these names (hard links: ext4load
# and the slot image need no symlinks).
ln -f "$(ls "$R"/boot/vmlinuz-* | head -1)" "$R/boot/vmlinuz"
ln -f "$(ls "$R"/boot/initrd.img-* | head -1)" "$R/boot/initrd.img"

echo board > "$R/etc/hostname"
# state_dir is on the data partition, shared by both root slots.
cat > "$R/etc/fstab" <<'EOF'
/dev/vda5	/var/lib/ota-agent	ext4	defaults,nofail	0	0
EOF

# Root logs in on the serial console at once: the scenario driver types there.
mkdir -p "$R/etc/systemd/system/serial-getty@ttyAMA0.service.d"
cat > "$R/etc/systemd/system/serial-getty@ttyAMA0.service.d/autologin.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --noclear --keep-baud 115200 %I dumb
EOF

# The only network: QEMU user mode (restrict=on); 10.0.2.100 is the host's
# fake OTA server through a guestfwd rule.
mkdir -p "$R/etc/systemd/network"
cat > "$R/etc/systemd/network/10-board.network" <<'EOF'
[Match]
Type=ether

[Network]
Address=10.0.2.15/24
Gateway=10.0.2.2
EOF

# A short watchdog so the SIGSTOP scenario ends in seconds, and a quick restart.
# RequiresMountsFor: state_dir is the data partition; without it the agent can
# start on the root slot's empty /var/lib/ota-agent before vda5 is mounted
# over it, lose the pending install and judge B as an unrecorded trial slot
# (seen on this board: the fallback scenario then stayed in the bad slot).
mkdir -p "$R/etc/systemd/system/ota-agent.service.d"
cat > "$R/etc/systemd/system/ota-agent.service.d/board.conf" <<'EOF'
[Unit]
RequiresMountsFor=/var/lib/ota-agent

[Service]
WatchdogSec=20
RestartSec=2
EOF

rm -f "$R/etc/systemd/system/ota-agent.service"
mkdir -p "$R/run/systemd/system"
mount -t proc proc "$R/proc"
trap 'umount "$R/proc"; rmdir "$R/run/systemd/system" 2>/dev/null || true' EXIT
chroot "$R" /usr/local/bin/ota-agent -c /etc/ota-agent/agent.toml config check >/dev/null
# SYSTEMD_OFFLINE: systemctl enable/daemon-reload work on the chroot, not the host bus.
SYSTEMD_OFFLINE=1 chroot "$R" /usr/local/bin/ota-agent -c /etc/ota-agent/agent.toml service install
SYSTEMD_OFFLINE=1 chroot "$R" systemctl enable systemd-networkd.service
SYSTEMD_OFFLINE=1 chroot "$R" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
	systemd-networkd-wait-online.service getty@tty1.service >/dev/null 2>&1 || true
rm -rf "$R"/var/cache/apt/*.bin "$R"/var/lib/apt/lists/*
