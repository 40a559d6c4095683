# guests/guests.mk - test guests, freestanding ELF64 images for hako's
# entry state (guests/README.md). Included by the top Makefile; the built
# files join GUEST_FILES so tools/mkimage.sh puts them in \hako\.

GUEST_CFLAGS := -std=c11 -g -ffreestanding -fno-pic -fno-pie -mno-red-zone -mno-mmx -mno-sse \
                -mno-sse2 -fno-stack-protector -fcf-protection=none -O2 -Wall -Wextra -Werror \
                -nostdinc -isystem $(GCC_INC)
GUEST_LDFLAGS := -nostdlib -static -z max-page-size=4096 -z noexecstack --no-warn-rwx-segments -T guests/guest.ld
GUEST_NAMES := probe vblk

# Each guest is its folder's start.S and NAME.c, linked with guests/lib.
$(BUILD)/guests/%.o: guests/%.c $(wildcard guests/lib/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -I. -c $< -o $@

$(BUILD)/guests/%.o: guests/%.S
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

define GUEST_LINK
$(BUILD)/guests/$(1).elf: $(BUILD)/guests/$(1)/start.o $(BUILD)/guests/$(1)/$(1).o \
                          $(BUILD)/guests/lib/console.o guests/guest.ld
	$$(LD) $$(GUEST_LDFLAGS) -o $$@ $$(filter %.o,$$^)
endef
$(foreach g,$(GUEST_NAMES),$(eval $(call GUEST_LINK,$(g))))

# The probe's further files.
$(BUILD)/guests/probe.elf: $(BUILD)/guests/probe/gdb.o $(BUILD)/guests/probe/ring3.o \
                           $(BUILD)/guests/probe/ring3_entry.o

GUEST_FILES += $(foreach g,$(GUEST_NAMES),$(BUILD)/guests/$(g).elf)

# The Linux test guest (make linux-guest): kernel, initramfs, ext4 disk image.
GUEST_FILES += $(LINUX_GUEST)
