/*
 * vmm/elf_guest.c - ELF64 guest images (see elf_guest.h). Every field of
 * the image is untrusted: offsets and sizes are checked against the file
 * and the guest's memory before anything is copied.
 */
#include "vmm/elf_guest.h"

#include "vmm/core/lib/elf64.h"
#include "vmm/core/lib/errno.h"

static const struct elf64_phdr *phdr(const void *img, unsigned i)
{
	const struct elf64_ehdr *h = img;
	return (const struct elf64_phdr *)((const uint8_t *)img + h->e_phoff) + i;
}

static int bad(const char **why, const char *msg)
{
	*why = msg;
	return -ENOEXEC;
}

static int check_header(const struct elf64_ehdr *h, uint64_t len, const char **why)
{
	if (len < sizeof(*h) || *(const uint32_t *)h->e_ident != ELF_MAGIC)
		return bad(why, "not an ELF file");
	if (h->e_ident[4] != ELFCLASS64 || h->e_ident[5] != ELFDATA2LSB ||
	    h->e_machine != EM_X86_64)
		return bad(why, "not a little-endian x86-64 ELF64 image");
	if (h->e_phentsize != sizeof(struct elf64_phdr) || h->e_phnum == 0 ||
	    h->e_phoff > len || (uint64_t)h->e_phnum * sizeof(struct elf64_phdr) > len - h->e_phoff)
		return bad(why, "program headers missing or outside the file");
	return 0;
}

static int check_segment(const struct elf64_phdr *p, uint64_t len, uint64_t mem, const char **why)
{
	if (p->p_filesz > p->p_memsz || p->p_offset > len || p->p_filesz > len - p->p_offset)
		return bad(why, "a segment lies outside the file");
	if (p->p_paddr < ELF_GUEST_LOAD_MIN || p->p_paddr > mem || p->p_memsz > mem - p->p_paddr)
		return bad(why, "a segment lies outside [1 MiB, guest memory size)");
	return 0;
}

int elf_guest_check(const void *img, uint64_t len, uint64_t mem_size, const char **why)
{
	const struct elf64_ehdr *h = img;
	int err = check_header(h, len, why);
	if (err)
		return err;
	unsigned loads = 0;
	int entry_ok = 0;
	for (unsigned i = 0; i < h->e_phnum; i++) {
		const struct elf64_phdr *p = phdr(img, i);
		if (p->p_type != PT_LOAD)
			continue;
		if ((err = check_segment(p, len, mem_size, why)))
			return err;
		loads++;
		entry_ok |= h->e_entry >= p->p_paddr && h->e_entry < p->p_paddr + p->p_memsz;
	}
	if (!loads)
		return bad(why, "no loadable segment");
	if (!entry_ok)
		return bad(why, "the entry point is not in a loaded segment");
	return 0;
}

uint64_t elf_guest_load(const void *img, void *ctx,
			void (*copy)(void *ctx, uint64_t gpa, const void *src, uint64_t n))
{
	const struct elf64_ehdr *h = img;
	for (unsigned i = 0; i < h->e_phnum; i++) {
		const struct elf64_phdr *p = phdr(img, i);
		if (p->p_type == PT_LOAD && p->p_filesz)
			copy(ctx, p->p_paddr, (const uint8_t *)img + p->p_offset, p->p_filesz);
	}
	return h->e_entry;
}
