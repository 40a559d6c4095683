# guests/guests.mk - test guests, freestanding ELF64 images for hako's
# entry state (guests/README.md). Included by the top Makefile; the built
# files join GUEST_FILES so tools/mkimage.sh puts them in \hako\.

GUEST_CFLAGS := -std=c11 -ffreestanding -fno-pic -fno-pie -mno-red-zone -mno-mmx -mno-sse \
                -mno-sse2 -fno-stack-protector -fcf-protection=none -O2 -Wall -Wextra -Werror \
                -nostdinc -isystem $(GCC_INC)
GUEST_LDFLAGS := -nostdlib -static -z max-page-size=4096 -z noexecstack --no-warn-rwx-segments -T guests/guest.ld

$(BUILD)/guests/probe.elf: guests/probe/start.S guests/probe/probe.c guests/guest.ld
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c guests/probe/start.S -o $(BUILD)/guests/probe-start.o
	$(CC) $(GUEST_CFLAGS) -c guests/probe/probe.c -o $(BUILD)/guests/probe.o
	$(LD) $(GUEST_LDFLAGS) -o $@ $(BUILD)/guests/probe-start.o $(BUILD)/guests/probe.o

GUEST_FILES += $(BUILD)/guests/probe.elf

$(BUILD)/guests/vblk.elf: guests/vblk/start.S guests/vblk/vblk.c guests/guest.ld
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c guests/vblk/start.S -o $(BUILD)/guests/vblk-start.o
	$(CC) $(GUEST_CFLAGS) -c guests/vblk/vblk.c -o $(BUILD)/guests/vblk.o
	$(LD) $(GUEST_LDFLAGS) -o $@ $(BUILD)/guests/vblk-start.o $(BUILD)/guests/vblk.o

GUEST_FILES += $(BUILD)/guests/vblk.elf

# The Linux test guest (make linux-guest): kernel, initramfs, ext4 disk image.
GUEST_FILES += $(LINUX_GUEST)
