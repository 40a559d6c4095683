#!/bin/sh
# guests/linux/build.sh OUTDIR - build the Linux test guest from Debian packages.
#
# Produces, in OUTDIR (default build/linux):
#   vmlinuz      the stock Debian kernel (linux-image-6.1 amd64, unmodified)
#   initrd.img   busybox-static, the virtio, virtio_net and ext4 modules,
#                guests/linux/init, udhcpc's script and hakonet (raw frames
#                for the network tests, built static from hakonet.c)
#   disk.img     a small ext4 image holding known files (hello.txt, SHA256SUMS)
# The kernel package is whatever linux-image-amd64 points at in the archive
# (or LINUX_PKG=linux-image-6.1.0-NN-amd64). Nothing is installed on the host:
# the package is downloaded and unpacked with dpkg-deb.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-build/linux}
mkdir -p "$out"
out=$(cd "$out" && pwd)

pkg=${LINUX_PKG:-$(apt-cache depends linux-image-amd64 2>/dev/null |
	awk '/Depends: linux-image-6/ {print $2; exit}')}
[ -n "$pkg" ] || { echo "linux guest: no linux-image package in the archive (apt-get update?)" >&2; exit 1; }
kver=${pkg#linux-image-}

if [ ! -f "$out/vmlinuz" ] || [ "$(cat "$out/kver" 2>/dev/null)" != "$kver" ]; then
	rm -rf "$out/deb" "$out/root"
	mkdir -p "$out/deb"
	(cd "$out/deb" && apt-get download "$pkg" >/dev/null 2>&1) ||
		{ echo "linux guest: apt-get download $pkg failed" >&2; exit 1; }
	dpkg-deb -x "$out"/deb/*.deb "$out/root"
	cp "$out/root/boot/vmlinuz-$kver" "$out/vmlinuz"
	echo "$kver" > "$out/kver"
fi

# --- initramfs ---------------------------------------------------------
ird=$out/initramfs
rm -rf "$ird"
mkdir -p "$ird/bin" "$ird/dev" "$ird/proc" "$ird/sys" "$ird/mnt" "$ird/tmp" "$ird/etc"
cp /bin/busybox "$ird/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ "$applet" = busybox ] || ln -sf busybox "$ird/bin/$applet"
done
ln -sf bin "$ird/sbin"
cp "$here/init" "$ird/init"
chmod 755 "$ird/init"
cp "$here/udhcpc.script" "$ird/etc/udhcpc.script"
chmod 755 "$ird/etc/udhcpc.script"
${CC:-cc} -static -Os -s -o "$ird/bin/hakonet" "$here/hakonet.c" ||
	{ echo "linux guest: cannot build hakonet (needs a C compiler and static libc)" >&2; exit 1; }

mods="virtio_pci virtio_mmio virtio_blk virtio_net ext4 crc32c_generic"
depmod -b "$out/root" "$kver"
for m in $mods; do
	modprobe -d "$out/root" -S "$kver" --show-depends "$m" | awk '{print $2}'
done | sort -u | while read -r ko; do
	rel=${ko#"$out/root"}
	mkdir -p "$ird$(dirname "$rel")"
	cp "$ko" "$ird$rel"
done
cp "$out/root/lib/modules/$kver/modules.order" "$out/root/lib/modules/$kver/modules.builtin" \
	"$ird/lib/modules/$kver/" 2>/dev/null || true
depmod -b "$ird" "$kver"
echo "$mods" > "$ird/etc/modules"
(cd "$ird" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -9 > "$out/initrd.img"

# --- a small ext4 disk with known contents ----------------------------------
dd=$out/disk-content
rm -rf "$dd"
mkdir -p "$dd"
echo "hello from the hako test disk" > "$dd/hello.txt"
head -c 1048576 /dev/zero | tr '\0' 'h' > "$dd/pattern.bin"
(cd "$dd" && sha256sum hello.txt pattern.bin > SHA256SUMS)
rm -f "$out/disk.img"
truncate -s 16M "$out/disk.img"
mke2fs -q -t ext4 -F -L hakotest -d "$dd" "$out/disk.img"
touch "$out/vmlinuz" # the package's date would leave make thinking it stale

echo "linux guest: $pkg -> $out/vmlinuz, initrd.img ($(du -k "$out/initrd.img" | cut -f1) KiB), disk.img"
