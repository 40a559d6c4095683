# hako - build, image, run, tests, benchmarks.
#
#   make              kernel, UEFI loader and the USB image
#   make usb-image    build/hako-usb.img (GPT + FAT ESP), ready for dd
#   make run          hako in QEMU with a local iSCSI target and a sample Linux guest
#   make run-bare     just the image in QEMU (q35, OVMF, usb-storage, serial here)
#   make test         every test: unit tests, 15 s of each fuzz target, then
#                     emulator tests in QEMU and Bochs
#   make test-fast    the same without the long emulator runs (marked slow)
#   make unit         host unit tests only (ASan + UBSan)
#   make fuzz         the libFuzzer targets, FUZZ_SECONDS (300) each
#   make bench        benchmarks; print figures
#   make debian-image build/debian/disk.img, a Debian 12 system for boot=disk (debootstrap)
#
# Sources are found by directory, so adding a file needs no Makefile edit:
# every .c/.S under boot/ (but boot/efi/), vmm/, drivers/, net/ and mgmt/
# is kernel code.

BUILD      ?= build
CC         ?= gcc
LD         ?= ld
OBJCOPY    ?= objcopy
PYTHON     ?= /usr/bin/python3
IMAGE_SIZE ?= 256M
QEMU_SMP   ?= 4
QEMU_MEM   ?= 1G
QEMU_CPU   ?= qemu64,+svm,+npt

GCC_INC := $(shell $(CC) -print-file-name=include)

WARN      := -Wall -Wextra -Werror -Wno-address-of-packed-member
# The kernel touches no x87, MMX, SSE or AVX register (-mno-80387 makes a
# float a compile error): a guest's FPU state stays in the registers while
# hako handles its exits (vmm/vcpu_fpu.c; tests/static checks the image).
# The stack protector uses hako's own global guard (vmm/core/stack_guard.c);
# GCC's default for the kernel code model, %gs:40, is a field of struct percpu.
KCFLAGS   := -std=c11 -ffreestanding -nostdinc -isystem $(GCC_INC) -I. \
             -O2 -g -fno-pic -fno-pie -mcmodel=kernel -mno-red-zone \
             -mno-mmx -mno-sse -mno-sse2 -mno-avx -mno-80387 \
             -fstack-protector-strong -mstack-protector-guard=global \
             -fno-omit-frame-pointer -fno-builtin-printf -fcf-protection=none \
             $(WARN) -MMD -MP
KASFLAGS  := -I. -g -MMD -MP
KLDFLAGS  := -nostdlib -static -z max-page-size=4096 -z noexecstack -T linker.ld

KERNEL_DIRS := boot vmm drivers net mgmt
KERNEL_SRC  := $(shell find $(KERNEL_DIRS) \( -path boot/efi -o -path '*/host' \) -prune -o \
                 \( -name '*.c' -o -name '*.S' \) -print 2>/dev/null | sort)
KERNEL_OBJ  := $(patsubst %,$(BUILD)/kernel/%.o,$(KERNEL_SRC))

# lwIP: Debian's source package, unpacked by tools/fetch-source.sh (never
# committed), compiled unmodified with hako's port in net/lwip/.
LWIP_DIR   := $(BUILD)/lwip
LWIP_STAMP := $(LWIP_DIR)/src/core/tcp.c
LWIP_FILES := core/def.c core/inet_chksum.c core/init.c core/ip.c core/mem.c core/memp.c \
              core/dns.c core/netif.c core/pbuf.c core/stats.c core/sys.c core/tcp.c core/tcp_in.c \
              core/tcp_out.c core/timeouts.c core/udp.c core/ipv4/dhcp.c core/ipv4/etharp.c \
              core/ipv4/icmp.c core/ipv4/ip4.c core/ipv4/ip4_addr.c core/ipv4/ip4_frag.c \
              netif/ethernet.c
LWIP_OBJ   := $(patsubst %.c,$(BUILD)/lwip-obj/%.o,$(LWIP_FILES))
LWIP_INC   := -Inet/lwip -I$(LWIP_DIR)/src/include
# Only for lwIP's own files: its code is not written to hako's warning set.
LWIP_RELAX := -Wno-unused-parameter -Wno-sign-compare -Wno-type-limits \
              -Wno-implicit-fallthrough -Inet/lwip/include

# BearSSL: Debian's source package too (tools/fetch-source.sh), compiled
# unmodified and freestanding; only the hashes, HMAC and HMAC_DRBG hako uses.
# Only net/crypto/ includes its headers (net/crypto/include/ supplies the
# <string.h> and <limits.h> it asks for).
BEARSSL_DIR   := $(BUILD)/bearssl
BEARSSL_STAMP := $(BEARSSL_DIR)/src/hash/sha2small.c
BEARSSL_FILES := hash/sha2small.c hash/md5.c mac/hmac.c rand/hmac_drbg.c \
                 codec/dec32be.c codec/enc32be.c codec/dec32le.c codec/enc32le.c
BEARSSL_SRC   := $(addprefix $(BEARSSL_DIR)/src/,$(BEARSSL_FILES))
BEARSSL_OBJ   := $(patsubst %.c,$(BUILD)/bearssl-obj/%.o,$(BEARSSL_FILES))
BEARSSL_INC   := -Inet/crypto/include -I$(BEARSSL_DIR)/inc -I$(BEARSSL_DIR)/src

EFI_INC    := -I/usr/include/efi -I/usr/include/efi/x86_64
EFI_CFLAGS := -std=c11 $(EFI_INC) -I. -O2 -fpic -ffreestanding -fno-stack-protector \
              -fno-stack-check -fshort-wchar -mno-red-zone -maccumulate-outgoing-args \
              -DGNU_EFI_USE_MS_ABI -Wall -Wextra -Werror -Wno-unused-parameter \
              -Wno-pointer-sign -MMD -MP
EFI_LIBDIR := /usr/lib
EFI_OBJ    := $(BUILD)/efi/loader.o

.PHONY: all usb-image run run-bare test test-fast test-slow unit fuzz fuzz-build bench clean kernel efi guests linux-guest \
        iscsi-live debian-image
all: usb-image

kernel: $(BUILD)/kernel.elf
efi: $(BUILD)/BOOTX64.EFI

# The compiler flags are a prerequisite too: a changed KCFLAGS (the stack
# protector, say) rebuilds the kernel instead of linking stale objects.
KFLAGS_STAMP := $(BUILD)/kernel/cflags
$(KFLAGS_STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo '$(KCFLAGS)' | cmp -s - $@ || echo '$(KCFLAGS)' > $@
.PHONY: FORCE
FORCE:

$(BUILD)/kernel/%.c.o: %.c $(KFLAGS_STAMP) | $(LWIP_STAMP) $(BEARSSL_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(KCFLAGS) $(LWIP_INC) $(KEXTRA_INC) -c $< -o $@

$(LWIP_STAMP): tools/fetch-source.sh
	sh tools/fetch-source.sh lwip $(LWIP_DIR) src/core/tcp.c
	@touch $@

# Every other lwIP source appears with the stamp (named, so make never
# takes them for intermediate files and deletes them).
$(filter-out $(LWIP_STAMP),$(addprefix $(LWIP_DIR)/src/,$(LWIP_FILES))): $(LWIP_STAMP) ;

$(BUILD)/lwip-obj/%.o: $(LWIP_DIR)/src/%.c $(KFLAGS_STAMP) | $(LWIP_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC      lwip/$*.c"
	@$(CC) $(KCFLAGS) $(LWIP_INC) $(LWIP_RELAX) -c $< -o $@

$(BEARSSL_STAMP): tools/fetch-source.sh
	sh tools/fetch-source.sh bearssl $(BEARSSL_DIR) src/hash/sha2small.c
	@touch $@
$(filter-out $(BEARSSL_STAMP),$(BEARSSL_SRC)): $(BEARSSL_STAMP) ;

$(BUILD)/bearssl-obj/%.o: $(BEARSSL_DIR)/src/%.c $(KFLAGS_STAMP) | $(BEARSSL_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC      bearssl/$*.c"
	@$(CC) $(KCFLAGS) $(BEARSSL_INC) -c $< -o $@

# hako's wrappers are the only kernel files that see BearSSL's headers.
$(BUILD)/kernel/net/crypto/%.c.o: KEXTRA_INC = $(BEARSSL_INC)

$(BUILD)/kernel/%.S.o: %.S
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	@$(CC) $(KASFLAGS) -c $< -o $@

$(BUILD)/kernel.elf: $(KERNEL_OBJ) $(LWIP_OBJ) $(BEARSSL_OBJ) linker.ld
	$(LD) $(KLDFLAGS) -o $@ $(KERNEL_OBJ) $(LWIP_OBJ) $(BEARSSL_OBJ)

$(BUILD)/efi/%.o: boot/efi/%.c vmm/core/bootinfo.h
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(EFI_CFLAGS) -c $< -o $@

$(BUILD)/efi/loader.so: $(EFI_OBJ)
	$(LD) -nostdlib -shared -Bsymbolic -znocombreloc -L$(EFI_LIBDIR) \
	    -T $(EFI_LIBDIR)/elf_x86_64_efi.lds $(EFI_LIBDIR)/crt0-efi-x86_64.o \
	    $(EFI_OBJ) -o $@ -lefi -lgnuefi

$(BUILD)/BOOTX64.EFI: $(BUILD)/efi/loader.so
	$(OBJCOPY) -j .text -j .sdata -j .data -j .rodata -j .dynamic -j .dynsym \
	    -j .rel -j .rela -j '.rel.*' -j '.rela.*' -j .reloc \
	    --target efi-app-x86_64 --subsystem=10 $< $@

# The Linux test guest (kernel, busybox initramfs, ext4 disk) from Debian packages.
LINUX_GUEST := $(BUILD)/linux/vmlinuz $(BUILD)/linux/initrd.img $(BUILD)/linux/disk.img
linux-guest: $(BUILD)/linux/vmlinuz
$(LINUX_GUEST) &: guests/linux/build.sh guests/linux/init guests/linux/udhcpc.script guests/linux/hakonet.c
	sh guests/linux/build.sh $(BUILD)/linux
# The bench initramfs: the same plus Linux's own iSCSI initiator (iscsistart).
$(BUILD)/linux/initrd-iscsi.img: guests/linux/build-iscsi.sh $(LINUX_GUEST)
	sh guests/linux/build-iscsi.sh $(BUILD)/linux

# A small Debian 12 system on a GPT disk (debootstrap; tools/mkdebian.sh), the
# real system the boot=disk tests put on a LUN. Rebuilt only when the script
# changes (a few minutes; needs the package archive).
DEBIAN_IMG := $(BUILD)/debian/disk.img
debian-image: $(DEBIAN_IMG)
$(DEBIAN_IMG): tools/mkdebian.sh
	sh tools/mkdebian.sh $@

# Test guests and other files for the boot medium's \hako\ folder.
GUEST_FILES :=
-include guests/guests.mk

usb-image: $(BUILD)/hako-usb.img
$(BUILD)/hako-usb.img: $(BUILD)/BOOTX64.EFI $(BUILD)/kernel.elf tools/mkimage.sh \
                       tools/hako.cfg.default $(GUEST_FILES)
	IMAGE_SIZE=$(IMAGE_SIZE) sh tools/mkimage.sh $@ $(BUILD)/BOOTX64.EFI \
	    $(BUILD)/kernel.elf tools/hako.cfg.default $(GUEST_FILES)

# The main job: hako in QEMU with a local iSCSI target (tgtd) and a sample
# Linux guest whose disk and catalog live on it (tools/run-demo.py).
run: all $(LINUX_GUEST)
	$(PYTHON) tools/run-demo.py

# Just hako, no target: boot the image with the serial console here.
run-bare: $(BUILD)/hako-usb.img
	sh tools/run-qemu.sh $(BUILD)/hako-usb.img -smp $(QEMU_SMP) -m $(QEMU_MEM) -cpu $(QEMU_CPU)

# ---- host unit tests: portable code built natively with sanitizers ----
UNIT_CFLAGS := -std=c11 -I. -g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
               -fno-sanitize-recover=all -Wall -Wextra -Werror -Wno-address-of-packed-member \
               -DHAKO_HOST_TEST
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
UNIT_BIN    := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRC))
# Portable kernel files the unit tests link against.
PORTABLE := vmm/core/lib/fmt.c vmm/core/lib/log.c vmm/core/lib/errno.c vmm/core/lib/buddy.c \
            mgmt/shell/line.c mgmt/shell/args.c mgmt/shell/shell.c mgmt/cfg.c \
            drivers/acpi/acpi.c vmm/pagetable.c vmm/cpuid_policy.c vmm/vm_def.c \
            vmm/elf_guest.c vmm/dev/uart.c vmm/insn.c vmm/guest_pt.c \
            vmm/bzimage.c vmm/dev/aml.c vmm/dev/acpi_tables.c vmm/dev/rtc.c vmm/core/lib/calendar.c vmm/dev/pit.c vmm/dev/ioapic.c \
            vmm/dev/lapic.c \
            net/crypto/sha256.c net/crypto/md5.c net/crypto/drbg.c net/crypto/isn.c net/crypto/seed.c mgmt/auth.c mgmt/console/telnet.c mgmt/console/login_limit.c mgmt/console/slots.c $(filter-out net/iscsi/blk.c net/iscsi/tcp.c,$(wildcard net/iscsi/*.c)) \
            vmm/blk/blk.c vmm/blk/blk_lat.c vmm/blk/blk_mem.c vmm/blk/blk_check.c vmm/blk/blk_bench.c \
            vmm/dev/virtqueue.c vmm/dev/virtio_mmio.c vmm/dev/virtio_blk.c vmm/dev/virtio_net.c \
            net/switch.c net/gso.c \
            vmm/blk/blk_sync.c vmm/blk/slotstore.c mgmt/catalog_fmt.c mgmt/users_fmt.c mgmt/audit.c \
            vmm/blk/cow_pool.c vmm/blk/cow.c \
            vmm/vmx/ctls.c vmm/cr.c vmm/xstate.c vmm/spec_policy.c vmm/core/lib/pgprot.c \
            vmm/core/lib/redact.c \
            vmm/sched_policy.c \
            mgmt/gdb/rsp.c \
            $(wildcard vmm/fs/*.c) vmm/disk_boot.c
# The neutral exit path, host-tested against a fake back end (test_exit.c
# supplies what it calls outside these files: vcpu_fail, the back end).
PORTABLE_EXIT := vmm/exit.c vmm/exit_names.c vmm/exit_trace.c vmm/vcpu_debug.c vmm/msr.c vmm/mmio.c vmm/portio.c \
                 vmm/vcpu_regs.c vmm/guest_mem.c vmm/irq.c

UNIT_OBJ := $(patsubst %.c,$(BUILD)/unit/obj/%.o,$(PORTABLE)) \
            $(patsubst %.c,$(BUILD)/unit/bearssl/%.o,$(BEARSSL_FILES))
# BearSSL natively: the host's libc supplies <string.h> and <limits.h>.
HOST_BEARSSL_INC := -I$(BEARSSL_DIR)/inc -I$(BEARSSL_DIR)/src
EXIT_OBJ := $(patsubst %.c,$(BUILD)/unit/obj/%.o,$(PORTABLE_EXIT))
.SECONDARY: $(UNIT_OBJ) $(EXIT_OBJ)
# Only test_exit links the exit path (with its fakes of the rest).
$(BUILD)/unit/test_exit: EXTRA_UNIT_OBJ = $(EXIT_OBJ)
$(BUILD)/unit/test_exit: $(EXIT_OBJ)

# test_scrub includes the scrub pool itself, with fakes of what it calls.
$(BUILD)/unit/test_scrub: vmm/core/scrub.c vmm/core/scrub.h vmm/core/page.h

$(BUILD)/unit/obj/%.o: %.c | $(BEARSSL_STAMP)
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"
	@$(CC) $(UNIT_CFLAGS) $(HOST_BEARSSL_INC) -MMD -MP -c $< -o $@

$(BUILD)/unit/bearssl/%.o: $(BEARSSL_DIR)/src/%.c | $(BEARSSL_STAMP)
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  bearssl/$*.c"
	@$(CC) $(UNIT_CFLAGS) $(HOST_BEARSSL_INC) -c $< -o $@

$(BUILD)/unit/%: tests/unit/%.c $(UNIT_OBJ) $(wildcard tests/unit/*.h) $(wildcard tests/unit/data/*.h)
	@mkdir -p $(dir $@)
	@echo "  UNIT    $<"
	@$(CC) $(UNIT_CFLAGS) -o $@ $< $(UNIT_OBJ) $(EXTRA_UNIT_OBJ)

# Disk images for the partition-table and file-system readers, made with the
# real tools at build time (tests/unit/mkfsimg.sh).
FSIMG := $(BUILD)/unit/fsimg/stamp
$(FSIMG): tests/unit/mkfsimg.sh
	sh tests/unit/mkfsimg.sh $(dir $@)
$(BUILD)/unit/test_fs $(BUILD)/unit/test_disk_boot: $(FSIMG)

# The initiator over POSIX sockets, for tests against tgtd on the host.
iscsi-live: $(BUILD)/unit/iscsi_live
$(BUILD)/unit/iscsi_live: tests/unit/iscsi_live.c tests/unit/iscsi_posix.h $(UNIT_OBJ)
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"
	@$(CC) $(UNIT_CFLAGS) -D_GNU_SOURCE -o $@ $< $(UNIT_OBJ)

# Each binary prints "N passed, N failed" last and exits non-zero on failure.
unit: $(UNIT_BIN)
	$(PYTHON) tests/run.py --unit-only

# libFuzzer targets (clang): the portable code built once with coverage
# and sanitizers, one binary per tests/unit/fuzz_*.c. `make test` runs each
# for 15 s from its seed corpus (tests/unit/data/corpus_NAME/, made by
# tests/unit/data/make_corpus.py; tests/fuzz.py); `make fuzz` for
# FUZZ_SECONDS each.
FUZZ_SRC     := $(wildcard tests/unit/fuzz_*.c)
FUZZ_BIN     := $(patsubst tests/unit/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
FUZZ_CFLAGS  := -std=c11 -I. -g -O1 -fsanitize=address,undefined \
                -fno-sanitize-recover=all -Wall -Wextra -Werror \
                -Wno-address-of-packed-member -DHAKO_HOST_TEST
FUZZ_OBJ     := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(PORTABLE)) \
                $(patsubst %.c,$(BUILD)/fuzz/bearssl/%.o,$(BEARSSL_FILES))
FUZZ_SECONDS ?= 300
.SECONDARY: $(FUZZ_OBJ)
$(BUILD)/fuzz/obj/%.o: %.c | $(BEARSSL_STAMP)
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"
	@clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(HOST_BEARSSL_INC) -MMD -MP -c $< -o $@
$(BUILD)/fuzz/bearssl/%.o: $(BEARSSL_DIR)/src/%.c | $(BEARSSL_STAMP)
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  bearssl/$*.c"
	@clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(HOST_BEARSSL_INC) -c $< -o $@
$(BUILD)/fuzz/%: tests/unit/%.c $(FUZZ_OBJ) $(wildcard tests/unit/data/*.h)
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $<"
	@clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ)
fuzz-build: $(FUZZ_BIN)
fuzz: $(FUZZ_BIN)
	$(PYTHON) tests/fuzz.py --seconds $(FUZZ_SECONDS)

test: all $(UNIT_BIN) $(BUILD)/unit/iscsi_live $(FUZZ_BIN) $(DEBIAN_IMG)
	$(PYTHON) tests/run.py

# Quicker: without the long emulator runs marked slow (Linux clones, Linux on Bochs, Bochs cycles).
test-fast: all $(UNIT_BIN) $(FUZZ_BIN)
	$(PYTHON) tests/run.py --fast

test-slow: test

bench: all $(DEBIAN_IMG) $(BUILD)/linux/initrd-iscsi.img
	$(PYTHON) tests/bench.py

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
