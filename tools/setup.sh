#!/bin/sh
# tools/setup.sh - install everything hako needs to build, run and test, on
# Debian 12, from Debian's own archive. Safe to run again. Run as root (or
# it uses sudo).
set -eu
cd "$(dirname "$0")/.."
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

PACKAGES="make gcc binutils libc6-dev gnu-efi ovmf qemu-system-x86 qemu-utils qemu-block-extra
  bochs bochsbios vgabios bochs-term mtools gdisk dosfstools
  tgt libiscsi-bin open-iscsi busybox-static cpio kmod e2fsprogs
  python3 python3-pytest dpkg-dev xz-utils clang debootstrap"

missing=
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "setup: installing$missing"
	$SUDO apt-get update -q
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
fi
# Third-party sources (lwIP, BearSSL) come from Debian's source packages;
# the Makefile fetches them the same way when they are missing.
sh tools/fetch-source.sh lwip build/lwip src/core/tcp.c
sh tools/fetch-source.sh bearssl build/bearssl src/hash/sha2small.c
echo "setup: done"
