#!/bin/sh
# guests/linux/build-iscsi.sh OUTDIR - the bench initramfs: the Linux test
# guest's (build.sh, run first: it leaves OUTDIR/initramfs and OUTDIR/root)
# plus Linux's own iSCSI initiator, for tests/bench_initiators.py:
#   - the kernel's iscsi_tcp and sd_mod modules (and what they need),
#   - open-iscsi's iscsistart (the Debian package open-iscsi, installed on
#     the host) with the shared libraries ldd names, at the same paths.
# Produces OUTDIR/initrd-iscsi.img. The same /init runs it: the
# hako.iscsi_* options log in (guests/linux/init).
set -eu
out=${1:-build/linux}
out=$(cd "$out" && pwd)
kver=$(cat "$out/kver")
[ -d "$out/initramfs" ] || { echo "bench initramfs: run guests/linux/build.sh first" >&2; exit 1; }
bin=$(command -v iscsistart || echo /usr/sbin/iscsistart)
[ -x "$bin" ] || { echo "bench initramfs: no iscsistart (apt-get install open-iscsi)" >&2; exit 1; }

ird=$out/initramfs-iscsi
rm -rf "$ird"
cp -a "$out/initramfs" "$ird"
mkdir -p "$ird/run" "$ird/var/lock" "$ird/etc/iscsi" "$ird/usr/sbin"
cp "$bin" "$ird/usr/sbin/iscsistart"
ln -sf ../usr/sbin/iscsistart "$ird/bin/iscsistart"
for lib in $(ldd "$bin" | awk '/=> \// {print $3} /^\t\/lib/ {print $1}'); do
	mkdir -p "$ird$(dirname "$lib")"
	cp -L "$lib" "$ird$lib"
done

mods="iscsi_tcp sd_mod"
for m in $mods; do
	modprobe -d "$out/root" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
done | sort -u | while read -r ko; do
	rel=${ko#"$out/root"}
	mkdir -p "$ird$(dirname "$rel")"
	cp "$ko" "$ird$rel"
done
depmod -b "$ird" "$kver"
echo "$(cat "$ird/etc/modules") $mods" > "$ird/etc/modules"
(cd "$ird" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -9 > "$out/initrd-iscsi.img"
echo "bench initramfs: $out/initrd-iscsi.img ($(du -k "$out/initrd-iscsi.img" | cut -f1) KiB)"
