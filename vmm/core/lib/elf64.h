/*
 * vmm/core/lib/elf64.h - the few ELF64 structures hako reads: the loader reads the
 * kernel with them, and the VMM reads ELF64 guest images with them.
 * Layouts from the System V ABI (gABI, "ELF Header" and "Program Header").
 */
#ifndef HAKO_ELF64_H
#define HAKO_ELF64_H

#include <stdint.h>

#define ELF_MAGIC 0x464c457fu /* "\x7fELF" read as little-endian u32 */
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define EM_X86_64 62
#define PT_LOAD 1

struct elf64_ehdr {
	uint8_t e_ident[16];  /* 0x00 */
	uint16_t e_type;      /* 0x10 */
	uint16_t e_machine;   /* 0x12 */
	uint32_t e_version;   /* 0x14 */
	uint64_t e_entry;     /* 0x18 */
	uint64_t e_phoff;     /* 0x20 */
	uint64_t e_shoff;     /* 0x28 */
	uint32_t e_flags;     /* 0x30 */
	uint16_t e_ehsize;    /* 0x34 */
	uint16_t e_phentsize; /* 0x36 */
	uint16_t e_phnum;     /* 0x38 */
	uint16_t e_shentsize; /* 0x3a */
	uint16_t e_shnum;     /* 0x3c */
	uint16_t e_shstrndx;  /* 0x3e */
} __attribute__((packed));
_Static_assert(sizeof(struct elf64_ehdr) == 64, "ELF64 header is 64 bytes");

struct elf64_phdr {
	uint32_t p_type;   /* 0x00 */
	uint32_t p_flags;  /* 0x04 */
	uint64_t p_offset; /* 0x08 */
	uint64_t p_vaddr;  /* 0x10 */
	uint64_t p_paddr;  /* 0x18 */
	uint64_t p_filesz; /* 0x20 */
	uint64_t p_memsz;  /* 0x28 */
	uint64_t p_align;  /* 0x30 */
} __attribute__((packed));
_Static_assert(sizeof(struct elf64_phdr) == 56, "ELF64 phdr is 56 bytes");

#endif
