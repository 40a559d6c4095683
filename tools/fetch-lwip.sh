#!/bin/sh
# tools/fetch-lwip.sh [DIR] - unpack Debian's lwIP source package into DIR
# (default build/lwip), for the kernel build. lwIP is never committed: the
# build takes it, unmodified, from the same Debian archive the machine
# already uses for binaries.
#
# Steps (each skipped when already done, so the script is idempotent):
#   1. DIR/src/core/tcp.c exists -> nothing to do.
#   2. Make sure apt knows a deb-src for the archive: if `apt-cache showsrc
#      lwip` fails, write /etc/apt/sources.list.d/hako-deb-src.sources, a
#      copy of debian.sources (deb822) with `Types: deb-src`, or a
#      deb-src line copied from sources.list, then `apt-get update`.
#   3. `apt-get source lwip` in a scratch folder, then move the unpacked tree
#      to DIR.
# Needs root for step 2 (CI runs `make all` as root after its setup step).
set -eu
dir=${1:-build/lwip}

if [ -f "$dir/src/core/tcp.c" ]; then
	exit 0
fi

have_src() {
	apt-cache showsrc lwip 2>/dev/null | grep -q '^Package: lwip'
}

add_deb_src() {
	d822=/etc/apt/sources.list.d/debian.sources
	out=/etc/apt/sources.list.d/hako-deb-src.sources
	if [ -f "$d822" ]; then
		sed -e 's/^Types:.*/Types: deb-src/' "$d822" > "$out.tmp"
		mv "$out.tmp" "$out"
	elif [ -f /etc/apt/sources.list ] && grep -q '^deb ' /etc/apt/sources.list; then
		grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' \
			> /etc/apt/sources.list.d/hako-deb-src.list
	else
		echo "fetch-lwip: no Debian archive found in /etc/apt to add deb-src for" >&2
		exit 1
	fi
	echo "fetch-lwip: added deb-src for the Debian archive; running apt-get update"
	apt-get update -qq || { echo "fetch-lwip: apt-get update failed" >&2; exit 1; }
}

if ! have_src; then
	if [ "$(id -u)" != 0 ]; then
		echo "fetch-lwip: apt has no deb-src for lwip; run this script once as root" >&2
		exit 1
	fi
	add_deb_src
	have_src || { echo "fetch-lwip: still no source package 'lwip' after apt-get update" >&2; exit 1; }
fi

tmp=$dir.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
(cd "$tmp" && apt-get source -qq lwip >/dev/null 2>&1) || {
	echo "fetch-lwip: 'apt-get source lwip' failed (is dpkg-dev installed?)" >&2
	rm -rf "$tmp"
	exit 1
}
src=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d -name 'lwip-*' | head -n 1)
if [ -z "$src" ] || [ ! -f "$src/src/core/tcp.c" ]; then
	echo "fetch-lwip: unpacked source has no src/core/tcp.c" >&2
	rm -rf "$tmp"
	exit 1
fi
rm -rf "$dir"
mv "$src" "$dir"
rm -rf "$tmp"
echo "fetch-lwip: lwIP $(basename "$src") in $dir"
