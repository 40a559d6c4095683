#!/bin/sh
# tests/unit/mkfsimg.sh OUTDIR - the disk images tests/unit/test_fs.c reads,
# made with the real tools (mkfs.ext4 -d, debugfs, sgdisk, mkfs.vfat,
# mtools) and no root mounts or loop devices. The files' bytes are a known
# pattern (pattern.py) so the test can check every byte it maps.
#
#   gpt_ext4.img     GPT; partition 1 ext4 (4 KiB blocks, extents, 64bit,
#                    metadata_csum), Debian's /vmlinuz and /initrd.img links
#                    into /boot, 600 more files in / (a hashed directory)
#   mbr_ext2.img     MBR; partition 1 ext2 (1 KiB blocks, block maps: the
#                    kernel needs double indirect blocks), /initrd.img a slow
#                    link (target longer than 60 bytes); partition 5 logical
#   frag_ext4.img    ext4 on the whole disk (1 KiB blocks), /vmlinuz in 40+
#                    pieces: an extent tree with index nodes
#   esp_entries.img  GPT; partition 1 an ESP (FAT16) with Boot Loader
#                    Specification entries for two versions, partition 2 ext4
#   fat12_ext.img    FAT12 on the whole disk with /extlinux/extlinux.conf
#   fat32_mbr.img    MBR; partition 1 FAT32 (type 0x0c) with /boot/loader/entries
#                    naming files with long names in a long-named folder
#   broken_link.img  GPT ext4 whose /vmlinuz points nowhere
#   loop.img         ext4 on the whole disk whose /vmlinuz links to itself
set -eu
out=$1
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
rm -rf "$out"
mkdir -p "$out"
cd "$out"
pat() { $py - "$1" "$2" > "$3" <<'EOF'
import sys
seed, n = int(sys.argv[1]), int(sys.argv[2])
out = bytearray(n)
x = seed * 2654435761 & 0xffffffff
for i in range(0, n, 4):
    x = (x * 1103515245 + 12345) & 0xffffffff
    out[i:i + 4] = x.to_bytes(4, "little")[:min(4, n - i)]
sys.stdout.buffer.write(bytes(out))
EOF
}
gpt() { # IMG SIZE_MIB: partition 1 from 1 MiB to 1 MiB before the end
	truncate -s "$2M" "$1"
	sgdisk -o "$1" > /dev/null
	sgdisk -n "1:2048:+$(( $2 - 2 ))M" -t 1:8300 -u 1:0fc63daf-0000-4000-8000-00000000aaaa "$1" > /dev/null
}

# --- gpt_ext4 -----------------------------------------------------------
mkdir -p r1/boot r1/etc
pat 1 300000 r1/boot/vmlinuz-6.1.0-9-amd64
pat 2 123457 r1/boot/initrd.img-6.1.0-9-amd64
ln -s boot/vmlinuz-6.1.0-9-amd64 r1/vmlinuz
ln -s boot/initrd.img-6.1.0-9-amd64 r1/initrd.img
echo "/dev/root / ext4 defaults 0 1" > r1/etc/fstab
i=0; while [ $i -lt 600 ]; do : > "r1/file-with-a-longish-name-$i"; i=$((i + 1)); done
gpt gpt_ext4.img 16
mkfs.ext4 -q -F -b 4096 -O metadata_csum,64bit -E offset=1048576 -d r1 gpt_ext4.img 14M

# --- mbr_ext2: MBR written by hand, partition 1 and an extended partition ---
mkdir -p r2/boot/a/very/long/directory/name/to/make/this/link/slow
pat 3 700000 r2/boot/vmlinuz-5.10
pat 4 5000 r2/boot/a/very/long/directory/name/to/make/this/link/slow/initrd.img-5.10
ln -s boot/vmlinuz-5.10 r2/vmlinuz
ln -s /boot/a/very/long/directory/name/to/make/this/link/slow/initrd.img-5.10 r2/initrd.img
truncate -s 12M mbr_ext2.img
$py - mbr_ext2.img <<'EOF'
import struct, sys
def entry(status, typ, lba, n):
    return struct.pack("<B3sB3sII", status, b"\0\0\0", typ, b"\0\0\0", lba, n)
with open(sys.argv[1], "r+b") as f:
    mbr = bytearray(512)
    mbr[0x1b8:0x1bc] = struct.pack("<I", 0x1234abcd)
    mbr[0x1be:0x1ce] = entry(0x80, 0x83, 2048, 8192)          # 1: 1-5 MiB
    mbr[0x1ce:0x1de] = entry(0, 0x05, 10240, 12288)           # extended: 5-11 MiB
    mbr[510:512] = b"\x55\xaa"
    f.write(mbr)
    ebr = bytearray(512)                                        # logical 5 at 6 MiB, 4 MiB
    ebr[0x1be:0x1ce] = entry(0, 0x83, 2048, 8192)
    ebr[510:512] = b"\x55\xaa"
    f.seek(10240 * 512)
    f.write(ebr)
EOF
mkfs.ext2 -q -F -b 1024 -E offset=1048576 -d r2 mbr_ext2.img 4096

# --- frag_ext4: fill with small files, free every other one, then write the kernel ---
mkdir -p r3
i=0; while [ $i -lt 120 ]; do pat $i 3072 "r3/f$i"; i=$((i + 1)); done
truncate -s 2M frag_ext4.img
mkfs.ext4 -q -F -b 1024 -N 256 -O ^has_journal,^resize_inode -d r3 frag_ext4.img
cmds=frag.cmds
: > $cmds
i=0; while [ $i -lt 120 ]; do echo "rm /f$i" >> $cmds; i=$((i + 2)); done
pat 5 150000 kernel.frag
echo "write kernel.frag /boot-vmlinuz" >> $cmds
echo "symlink /vmlinuz /boot-vmlinuz" >> $cmds
debugfs -w -f $cmds frag_ext4.img > /dev/null 2>&1
debugfs -R "ex /boot-vmlinuz" frag_ext4.img 2>/dev/null | grep -q "^ *0/ *1 " ||
	{ echo "mkfsimg: frag_ext4's kernel has no extent index" >&2; exit 1; }

# --- esp_entries: an ESP with loader entries, a root partition ------------
truncate -s 40M esp_entries.img
sgdisk -o esp_entries.img > /dev/null
sgdisk -n 1:2048:+20M -t 1:ef00 -u 1:c12a7328-0000-4000-8000-00000000e5e5 esp_entries.img > /dev/null
sgdisk -n 2:0:0 -t 2:8300 esp_entries.img > /dev/null
mkfs.vfat -F 16 --offset 2048 esp_entries.img $((20 * 1024)) > /dev/null 2>&1
export MTOOLS_SKIP_CHECK=1
esp="esp_entries.img@@1M"
mmd -i "$esp" ::/loader ::/loader/entries ::/debian
pat 6 200000 k61; pat 7 40000 i61; pat 8 100000 k510
mcopy -i "$esp" k61 ::/debian/vmlinuz-6.1.0-10-amd64
mcopy -i "$esp" i61 ::/debian/initrd.img-6.1.0-10-amd64
mcopy -i "$esp" k510 ::/debian/vmlinuz-5.10.0-9-amd64
printf 'title Debian 6.1\nlinux /debian/vmlinuz-6.1.0-10-amd64\ninitrd /debian/initrd.img-6.1.0-10-amd64\noptions root=UUID=abcd ro\noptions quiet\n' > e61
printf 'title Debian 5.10\nlinux /debian/vmlinuz-5.10.0-9-amd64\noptions root=/dev/vda2\n' > e510
mcopy -i "$esp" e61 ::/loader/entries/debian-6.1.0-10-amd64.conf
mcopy -i "$esp" e510 ::/loader/entries/debian-5.10.0-9-amd64.conf

# --- fat12_ext: a FAT12 floppy-style disk with extlinux.conf ---------------
truncate -s 2M fat12_ext.img
mkfs.vfat -F 12 fat12_ext.img > /dev/null
pat 9 90000 kf12; pat 10 3000 if12
mmd -i fat12_ext.img ::/extlinux
mcopy -i fat12_ext.img kf12 ::/extlinux/bzImage
mcopy -i fat12_ext.img if12 ::/initramfs.gz
printf 'DEFAULT linux\nLABEL rescue\n  KERNEL nothing\nLABEL linux\n  LINUX bzImage\n  INITRD /initramfs.gz\n  APPEND console=ttyS0 root=/dev/vda\n' > ext.conf
mcopy -i fat12_ext.img ext.conf ::/extlinux/extlinux.conf

# --- fat32_mbr: MBR partition type 0x0c, FAT32 (512-byte clusters), long names ---
truncate -s 40M fat32_mbr.img
$py - fat32_mbr.img <<'EOF'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    mbr = bytearray(512)
    mbr[0x1b8:0x1bc] = struct.pack("<I", 0xfa7f32aa)
    mbr[0x1be:0x1ce] = struct.pack("<B3sB3sII", 0x80, b"\0\0\0", 0x0c, b"\0\0\0", 2048, 79872)
    mbr[510:512] = b"\x55\xaa"
    f.write(mbr)
EOF
mkfs.vfat -F 32 -s 1 --offset 2048 fat32_mbr.img $((79872 / 2)) > /dev/null 2>&1
f32="fat32_mbr.img@@1M"
mmd -i "$f32" ::/boot ::/boot/loader ::/boot/loader/entries ::/boot/kernels-with-a-long-folder-name
pat 11 250000 k32; pat 12 33333 i32
mcopy -i "$f32" k32 "::/boot/kernels-with-a-long-folder-name/vmlinuz-7.0.0-a-rather-long-file-name"
mcopy -i "$f32" i32 ::/boot/initrd-7.0.0
printf 'linux /kernels-with-a-long-folder-name/vmlinuz-7.0.0-a-rather-long-file-name\ninitrd /initrd-7.0.0\noptions root=LABEL=x\n' > e7
mcopy -i "$f32" e7 ::/boot/loader/entries/x-7.0.0.conf

# --- broken_link: /vmlinuz points nowhere ---------------------------------
mkdir -p r4/boot
ln -s boot/vmlinuz-missing r4/vmlinuz
gpt broken_link.img 8
mkfs.ext4 -q -F -E offset=1048576 -d r4 broken_link.img 6M

# --- loop: /vmlinuz is a link to itself -------------------------------------
mkdir -p r5
ln -s vmlinuz r5/vmlinuz
truncate -s 4M loop.img
mkfs.ext4 -q -F -d r5 loop.img

rm -rf r1 r2 r3 r4 r5 k61 i61 k510 kf12 if12 e61 e510 k32 i32 e7 ext.conf kernel.frag $cmds
touch stamp
