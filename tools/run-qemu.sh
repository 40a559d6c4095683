#!/bin/sh
# tools/run-qemu.sh IMG [QEMU ARGS...] - boot a hako USB image in QEMU
# the way a PC boots a stick: q35, OVMF (UEFI), the image on USB storage,
# the serial console on this terminal (Ctrl-A X quits QEMU).
set -eu
img=$1
shift
vars=$(mktemp /tmp/hako-ovmf-vars.XXXXXX)
trap 'rm -f "$vars"' EXIT
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$vars"
qemu-system-x86_64 -machine q35 -accel tcg -nodefaults -nographic \
	-serial mon:stdio \
	-drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
	-drive if=pflash,format=raw,file="$vars" \
	-device qemu-xhci,id=xhci \
	-drive if=none,id=usb,format=raw,file="$img" \
	-device usb-storage,bus=xhci.0,drive=usb \
	"$@"
