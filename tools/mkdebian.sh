#!/bin/sh
# tools/mkdebian.sh IMG - a small Debian 12 system on a GPT disk image, the
# "real system" guests boot with boot=disk (issue 19) and the tests put
# behind a tgt LUN.
#
#   debootstrap (minbase) from the package archive named in
#   /etc/apt/sources.list.d/debian.sources: systemd, udev, the stock kernel
#   (linux-image-amd64, its initramfs) and openssh-server;
#   partition 1 of a GPT disk, ext4, made with mkfs.ext4 -d at the
#   partition's byte offset: no root mounts, no loop devices;
#   /vmlinuz and /initrd.img link into /boot, as debootstrap leaves them,
#   and no boot loader: hako reads them (boot=disk);
#   root autologin on the serial console (serial-getty@ttyS0), which waits
#   up to 10 minutes for /dev/ttyS0 (DefaultDeviceTimeoutSec) under a slow
#   emulator;
#   hako-identity.service, a first-boot unit (below).
#
# The per-clone identity: hako passes `systemd.hostname=NAME` and cloud-init's
# NoCloud seed `ds=nocloud;h=NAME;i=ID` on the kernel command line; systemd
# sets the hostname itself, and hako-identity.service, early in boot, sees a
# new instance id (a fresh clone) and gives the system a new machine id and
# new SSH host keys and writes the hostname to /etc/hostname. Not cloud-init:
# it needs python3 (about 60 MB more in the image) and its four boot stages
# cost seconds of Python start-up on every boot, which under an emulator
# become tens of seconds; this system needs three of its features, a
# 40-line shell script. A system that has cloud-init reads the same seed.
#
# The initramfs holds the virtio, ext4 and SCSI disk drivers only
# (MODULES=list): Debian's default (MODULES=most) is 36 MB, which an
# emulated guest takes seconds to read and decompress at every boot.
#
# Environment: DEBIAN_IMG_SIZE (default 2G), DEBIAN_MIRROR (default from
# the sources file). Run as root (debootstrap chroots). Takes a few minutes;
# the Makefile rebuilds build/debian/disk.img only when this script changes.
set -eu
img=${1:-build/debian/disk.img}
size=${DEBIAN_IMG_SIZE:-2G}
mirror=${DEBIAN_MIRROR:-$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null)}
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
# Fixed identifiers, so that every build names its root the same way.
part_uuid=6861b0d1-5c0e-4f3a-9d2b-00000000d15c
fs_uuid=6861b0d1-e474-4a1f-8c3e-0000000000e4

[ "$(id -u)" = 0 ] || { echo "mkdebian: run as root (debootstrap needs chroot)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "mkdebian: install debootstrap (tools/setup.sh)" >&2; exit 1; }
mkdir -p "$(dirname "$img")"
work=$img.work
root=$work/root
rm -rf "$work"
mkdir -p "$work"
t0=$(date +%s)

# The initramfs configuration must be in place before the kernel's postinst
# builds it, so debootstrap first installs the base, then the kernel.
debootstrap --variant=minbase --include=systemd-sysv,udev,dbus,kmod,openssh-server,ifupdown \
	bookworm "$root" "$mirror" > "$work/debootstrap.log" 2>&1 ||
	{ tail -20 "$work/debootstrap.log" >&2; echo "mkdebian: debootstrap failed" >&2; exit 1; }

mkdir -p "$root/etc/initramfs-tools/conf.d"
echo "MODULES=list" > "$root/etc/initramfs-tools/conf.d/hako"
cat >> "$root/etc/initramfs-tools/modules" <<'EOF'
virtio_mmio
virtio_pci
virtio_blk
virtio_scsi
sd_mod
ext4
crc32c_generic
EOF
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	linux-image-amd64 initramfs-tools > "$work/kernel.log" 2>&1 ||
	{ tail -20 "$work/kernel.log" >&2; echo "mkdebian: installing the kernel failed" >&2; exit 1; }
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin

# --- configuration ---------------------------------------------------------
echo debian > "$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n' > "$root/etc/hosts"
printf 'UUID=%s / ext4 errors=remount-ro 0 1\n' "$fs_uuid" > "$root/etc/fstab"
# An empty machine id: the first boot makes one (systemd's first-boot logic).
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
# No host keys in the image: each system makes its own (hako-identity).
rm -f "$root"/etc/ssh/ssh_host_*
chroot "$root" passwd -d root > /dev/null

mkdir -p "$root/etc/systemd/system/serial-getty@ttyS0.service.d"
cat > "$root/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --keep-baud 115200,57600,38400,9600 %I $TERM
EOF
# The serial getty waits for udev to announce /dev/ttyS0. Under an emulator
# on a loaded host that took more than systemd's default 90 s once (two
# clones booting side by side), and the getty was dropped; allow minutes.
mkdir -p "$root/etc/systemd/system.conf.d"
printf '[Manager]\nDefaultDeviceTimeoutSec=10min\n' > "$root/etc/systemd/system.conf.d/hako-devices.conf"

cat > "$root/usr/local/sbin/hako-identity" <<'EOF'
#!/bin/sh
# hako-identity - gives a cloned system its own identity at its first boot.
# Reads `ds=nocloud;h=NAME;i=ID` (cloud-init's NoCloud seed) and
# `systemd.hostname=NAME` from the kernel command line. When ID differs from
# the one recorded in /var/lib/hako/instance-id (a fresh clone, or the first
# boot): a new machine id (unless systemd just made one), new SSH host keys,
# NAME in /etc/hostname and /etc/hosts. Then records ID.
set -u
name= id=
for w in $(cat /proc/cmdline); do
	case $w in
	systemd.hostname=*) name=${w#systemd.hostname=} ;;
	ds=nocloud\;*)
		old_ifs=$IFS; IFS=';'
		for kv in ${w#ds=nocloud;}; do
			case $kv in
			h=*) name=${kv#h=} ;;
			i=*) id=${kv#i=} ;;
			esac
		done
		IFS=$old_ifs ;;
	esac
done
state=/var/lib/hako/instance-id
if [ -n "$id" ] && [ "$id" != "$(cat "$state" 2>/dev/null)" ]; then
	# A machine id systemd generated at this boot (empty file: first boot)
	# is mounted over /etc/machine-id and is already new.
	if ! mountpoint -q /etc/machine-id; then
		rm -f /etc/machine-id
		systemd-machine-id-setup > /dev/null
	fi
	rm -f /etc/ssh/ssh_host_*
	if [ -n "$name" ]; then
		echo "$name" > /etc/hostname
		sed -i "s/^127\.0\.1\.1[[:space:]].*/127.0.1.1\t$name/" /etc/hosts
	fi
	mkdir -p /var/lib/hako
	echo "$id" > "$state"
	echo "hako-identity: instance $id, hostname ${name:-unchanged}, new machine id and host keys"
fi
# Ed25519 and ECDSA only: an RSA key takes many seconds under an emulator.
if [ -d /etc/ssh ] && [ ! -e /etc/ssh/ssh_host_ed25519_key ]; then
	ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
	ssh-keygen -q -t ecdsa -N '' -f /etc/ssh/ssh_host_ecdsa_key
fi
exit 0
EOF
chmod 755 "$root/usr/local/sbin/hako-identity"
cat > "$root/etc/systemd/system/hako-identity.service" <<'EOF'
[Unit]
Description=Per-clone identity from hako (hostname, machine id, SSH host keys)
DefaultDependencies=no
After=systemd-remount-fs.service
Before=sysinit.target systemd-machine-id-commit.service ssh.service shutdown.target
Conflicts=shutdown.target
ConditionPathIsReadWrite=/etc

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/hako-identity
StandardOutput=journal+console

[Install]
WantedBy=sysinit.target
EOF
mkdir -p "$root/etc/systemd/system/sysinit.target.wants"
ln -sf ../hako-identity.service "$root/etc/systemd/system/sysinit.target.wants/hako-identity.service"
# sshd also wants RSA by default; the keys made above are enough.
mkdir -p "$root/etc/ssh/sshd_config.d"
printf 'HostKey /etc/ssh/ssh_host_ed25519_key\nHostKey /etc/ssh/ssh_host_ecdsa_key\n' \
	> "$root/etc/ssh/sshd_config.d/hako.conf"

[ -L "$root/vmlinuz" ] && [ -L "$root/initrd.img" ] ||
	{ echo "mkdebian: debootstrap left no /vmlinuz and /initrd.img links" >&2; exit 1; }

# --- the disk: GPT, partition 1 from 1 MiB to 1 MiB before the end --------
case $size in
*G) bytes=$(( ${size%G} * 1024 * 1024 * 1024 )) ;;
*M) bytes=$(( ${size%M} * 1024 * 1024 )) ;;
*) bytes=$size ;;
esac
part_kib=$(( bytes / 1024 - 2048 ))
tmp=$img.tmp
rm -f "$tmp"
truncate -s "$bytes" "$tmp"
sgdisk -o "$tmp" > /dev/null
sgdisk -n "1:2048:+${part_kib}K" -t 1:8300 -c 1:root -u "1:$part_uuid" "$tmp" > /dev/null
sgdisk -p "$tmp" | grep -q "^ *1 *2048 " || { echo "mkdebian: sgdisk made no partition 1" >&2; exit 1; }
mkfs.ext4 -q -F -L root -U "$fs_uuid" -E "offset=1048576" -d "$root" "$tmp" "${part_kib}k" ||
	{ echo "mkdebian: mkfs.ext4 failed" >&2; exit 1; }
mv "$tmp" "$img"
echo "$(readlink "$root/vmlinuz") $(readlink "$root/initrd.img")" > "$img.kernel"
rm -rf "$work"
echo "mkdebian: $img ($size, $(du -k "$img" | cut -f1) KiB used), built in $(( $(date +%s) - t0 )) s"
