#!/bin/sh
# tools/mkimage.sh IMG BOOTX64.EFI KERNEL.ELF HAKO.CFG|- [FILE...]
#
# Builds a GPT disk image with one EFI system partition (FAT32) holding
#   EFI/BOOT/BOOTX64.EFI   the loader
#   EFI/hako/kernel.elf    the hypervisor
#   hako/hako.cfg          boot configuration
#   hako/FILE...           each further file, by its base name (guests, initrds)
# No root and no loop devices: sgdisk writes the partition table and
# mtools writes the file system at the partition's byte offset.
# IMAGE_SIZE (default 256M) sets the size; it is rounded up to a whole
# number of 16*63*512-byte cylinders so Bochs sees a clean geometry.
set -eu
img=$1 efi=$2 kernel=$3 cfg=$4
shift 4

size=${IMAGE_SIZE:-256M}
case $size in
*G) bytes=$(( ${size%G} * 1024 * 1024 * 1024 )) ;;
*M) bytes=$(( ${size%M} * 1024 * 1024 )) ;;
*) bytes=$size ;;
esac
cyl=$((16 * 63 * 512))
bytes=$(( (bytes + cyl - 1) / cyl * cyl ))
if [ "$bytes" -lt $((64 * 1024 * 1024)) ]; then
	echo "mkimage: IMAGE_SIZE must be at least 64M" >&2
	exit 1
fi

tmp=$img.tmp
rm -f "$tmp"
truncate -s "$bytes" "$tmp"
sgdisk -o -n 1:2048:0 -t 1:ef00 -c 1:HAKO "$tmp" >/dev/null 2>&1 || { echo "mkimage: sgdisk failed" >&2; exit 1; }
# Partition 1 runs from sector 2048 to the last usable sector (33 sectors
# of backup GPT at the end).
part_sectors=$(( bytes / 512 - 2048 - 33 ))
off=$((2048 * 512))
# FAT32 needs at least 65,525 clusters: 512-byte clusters below 1 GiB.
if [ "$bytes" -lt $((1024 * 1024 * 1024)) ]; then spc=1; else spc=8; fi
mformat -i "$tmp@@$off" -F -c $spc -T $part_sectors -h 16 -s 63 -H 2048 -v HAKO ::
mmd -i "$tmp@@$off" ::/EFI ::/EFI/BOOT ::/EFI/hako ::/hako
mcopy -i "$tmp@@$off" "$efi" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$tmp@@$off" "$kernel" ::/EFI/hako/kernel.elf
# "-" means: no hako.cfg (hako then boots with defaults and says so).
[ "$cfg" = - ] || mcopy -i "$tmp@@$off" "$cfg" ::/hako/hako.cfg
for f in "$@"; do
	mcopy -i "$tmp@@$off" "$f" "::/hako/$(basename "$f")"
done
mv "$tmp" "$img"
echo "mkimage: $img ($((bytes / 1024 / 1024)) MiB), ESP at byte $off"
