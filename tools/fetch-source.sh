#!/bin/sh
# tools/fetch-source.sh PACKAGE DIR FILE - unpack Debian's source package
# PACKAGE into DIR for the kernel build (lwIP into build/lwip, BearSSL into
# build/bearssl). Third-party code is never committed: the build takes it,
# unmodified, from the same Debian archive the machine already uses for
# binaries.
#
# Steps (each skipped when already done, so the script is idempotent):
#   1. DIR/FILE exists -> nothing to do.
#   2. Make sure apt knows a deb-src for the archive: if `apt-cache showsrc
#      PACKAGE` fails, write /etc/apt/sources.list.d/hako-deb-src.sources, a
#      copy of debian.sources (deb822) with `Types: deb-src`, or a
#      deb-src line copied from sources.list, then `apt-get update`.
#   3. `apt-get source PACKAGE` in a scratch folder, then move the unpacked
#      tree to DIR.
# Needs root for step 2 (CI runs `make all` as root after its setup step).
set -eu
if [ $# -ne 3 ]; then
	echo "usage: fetch-source.sh PACKAGE DIR FILE (e.g. lwip build/lwip src/core/tcp.c)" >&2
	exit 2
fi
pkg=$1 dir=$2 file=$3

if [ -f "$dir/$file" ]; then
	exit 0
fi

have_src() {
	apt-cache showsrc "$pkg" 2>/dev/null | grep -q "^Package: $pkg\$"
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
		echo "fetch-source: no Debian archive found in /etc/apt to add deb-src for" >&2
		exit 1
	fi
	echo "fetch-source: added deb-src for the Debian archive; running apt-get update"
	apt-get update -qq || { echo "fetch-source: apt-get update failed" >&2; exit 1; }
}

if ! have_src; then
	if [ "$(id -u)" != 0 ]; then
		echo "fetch-source: apt has no deb-src for $pkg; run this script once as root" >&2
		exit 1
	fi
	add_deb_src
	have_src || { echo "fetch-source: still no source package '$pkg' after apt-get update" >&2; exit 1; }
fi

tmp=$dir.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
(cd "$tmp" && apt-get source -qq "$pkg" >/dev/null 2>&1) || {
	echo "fetch-source: 'apt-get source $pkg' failed (is dpkg-dev installed?)" >&2
	rm -rf "$tmp"
	exit 1
}
src=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d -name "$pkg-*" | head -n 1)
if [ -z "$src" ] || [ ! -f "$src/$file" ]; then
	echo "fetch-source: unpacked source has no $file" >&2
	rm -rf "$tmp"
	exit 1
fi
rm -rf "$dir"
mv "$src" "$dir"
rm -rf "$tmp"
echo "fetch-source: $(basename "$src") in $dir"
