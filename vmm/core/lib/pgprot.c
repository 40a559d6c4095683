/*
 * vmm/core/lib/pgprot.c - hako's own page-table entries, built and read
 * back (SDM Vol. 3A 4.5, 4.6). Portable: see pgprot.h.
 */
#include "vmm/core/lib/pgprot.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"

#define PG_SIZE_1G (1ull << 30)
#define LEVELS 4
/* Upper-level entries: present and writable, no NX, so the leaf decides. */
#define PTE_TABLE (PTE_P | PTE_W)

uint64_t pgprot_flags(enum pg_kind kind, int nx)
{
	uint64_t xd = nx ? PTE_NX : 0;
	switch (kind) {
	case PG_ABSENT:
		return 0;
	case PG_CODE:
		return PTE_P;
	case PG_RODATA:
		return PTE_P | xd;
	case PG_DATA:
		return PTE_P | PTE_W | xd;
	case PG_MMIO:
		return PTE_P | PTE_W | PTE_PCD | PTE_PWT | xd;
	}
	return 0; /* not a kind: absent is the safe answer */
}

enum pg_kind pgprot_image_kind(const struct pgprot_image *img, uint64_t va)
{
	if (va < img->text || va >= img->end)
		return PG_ABSENT;
	if (va < img->rodata)
		return PG_CODE;
	return va < img->data ? PG_RODATA : PG_DATA;
}

static unsigned index_at(uint64_t va, int level)
{
	return (unsigned)(va >> (12 + 9 * (level - 1))) & 511;
}

/* Splits a 2 MiB leaf into a table of 512 4 KiB leaves with the same rights. */
static int split_2m(struct pg_tables *t, uint64_t *pde)
{
	uint64_t pt = t->alloc(t->ctx);
	if (!pt)
		return -ENOMEM;
	uint64_t *e = t->table(t->ctx, pt);
	uint64_t base = *pde & PTE_ADDR & ~(PG_SIZE_2M - 1);
	uint64_t flags = *pde & ~PTE_ADDR & ~PTE_PS;
	for (unsigned i = 0; i < 512; i++)
		e[i] = (base + i * PG_SIZE_4K) | flags;
	*pde = pt | PTE_TABLE;
	return 0;
}

/* The table below `*entry`, made (or split from a 2 MiB leaf) if need be. */
static int next_table(struct pg_tables *t, uint64_t *entry, int level, uint64_t **out)
{
	if (!(*entry & PTE_P)) {
		uint64_t p = t->alloc(t->ctx);
		if (!p)
			return -ENOMEM;
		*entry = p | PTE_TABLE;
	} else if (*entry & PTE_PS) {
		int err = level == 2 ? split_2m(t, entry) : -EINVAL;
		if (err)
			return err;
	}
	*out = t->table(t->ctx, *entry & PTE_ADDR);
	return 0;
}

int pg_map(struct pg_tables *t, uint64_t va, uint64_t pa, uint64_t size, uint64_t flags)
{
	if ((size != PG_SIZE_4K && size != PG_SIZE_2M) || (va | pa) & (size - 1) ||
	    pa & ~PTE_ADDR)
		return -EINVAL;
	int leaf_level = size == PG_SIZE_2M ? 2 : 1;
	uint64_t *table = t->table(t->ctx, t->root);
	for (int level = LEVELS; level > leaf_level; level--) {
		int err = next_table(t, &table[index_at(va, level)], level, &table);
		if (err)
			return err;
	}
	uint64_t *leaf = &table[index_at(va, leaf_level)];
	if (leaf_level == 2 && (*leaf & PTE_P) && !(*leaf & PTE_PS))
		return -EINVAL; /* a table of small pages is there; keep it */
	*leaf = flags & PTE_P ? pa | flags | (leaf_level == 2 ? PTE_PS : 0) : 0;
	return 0;
}

void pg_lookup(const struct pg_tables *t, uint64_t va, int nx, struct pg_access *a)
{
	uint64_t table = t->root;
	int write = 1, exec = 1;
	*a = (struct pg_access){ 0, 0, 0, PG_SIZE_4K, 0 };
	for (int level = LEVELS; level >= 1; level--) {
		uint64_t e = t->table(t->ctx, table)[index_at(va, level)];
		if (!(e & PTE_P))
			return;
		write &= !!(e & PTE_W);
		exec &= !(nx && (e & PTE_NX));
		if (level == 1 || ((level == 2 || level == 3) && (e & PTE_PS))) {
			uint64_t size = level == 1 ? PG_SIZE_4K : level == 2 ? PG_SIZE_2M : PG_SIZE_1G;
			*a = (struct pg_access){ 1, write, exec, size,
						 (e & PTE_ADDR & ~(size - 1)) | (va & (size - 1)) };
			return;
		}
		table = e & PTE_ADDR;
	}
}

/* [from, to) at its own address with 4 KiB pages of `kind`. */
static int map_small(struct pg_tables *t, uint64_t from, uint64_t to, enum pg_kind kind, int nx)
{
	for (uint64_t a = from; a < to; a += PG_SIZE_4K) {
		int err = pg_map(t, a, a, PG_SIZE_4K, pgprot_flags(kind, nx));
		if (err)
			return err;
	}
	return 0;
}

int pgprot_build(struct pg_tables *t, const struct pgprot_expect *e, int nx)
{
	uint64_t size = e->img.end - e->img.text;
	if ((e->img.text | e->img.rodata | e->img.data | e->img.end | e->kernel_phys) &
	    (PG_SIZE_4K - 1) || e->identity_top & (PG_SIZE_2M - 1))
		return -EINVAL;
	int err = map_small(t, PG_SIZE_4K, PG_SIZE_2M, PG_DATA, nx);
	for (uint64_t a = PG_SIZE_2M; !err && a < e->identity_top; a += PG_SIZE_2M)
		err = pg_map(t, a, a, PG_SIZE_2M, pgprot_flags(PG_DATA, nx));
	/* The image's copy: readable (nothing needs even that), never written or run. */
	if (!err)
		err = map_small(t, e->kernel_phys, e->kernel_phys + size, PG_RODATA, nx);
	for (uint64_t off = 0; !err && off < size; off += PG_SIZE_4K) {
		uint64_t va = e->img.text + off;
		err = pg_map(t, va, e->kernel_phys + off, PG_SIZE_4K,
			     pgprot_flags(pgprot_image_kind(&e->img, va), nx));
	}
	return err;
}

/* Each image page must grant exactly its kind's rights. */
static int audit_image(const struct pg_tables *t, int nx, const struct pgprot_image *img,
		       char *why, size_t n)
{
	static const char *const names[] = { "absent", "text", "rodata", "data", "mmio" };
	for (uint64_t va = img->text; va < img->end; va += PG_SIZE_4K) {
		enum pg_kind k = pgprot_image_kind(img, va);
		struct pg_access a;
		pg_lookup(t, va, nx, &a);
		int want_w = k == PG_DATA, want_x = k == PG_CODE || !nx;
		if (a.present && a.write == want_w && a.exec == want_x)
			continue;
		fmt_snprintf(why, n, "%s page 0x%lx is %s%s%s", names[k], va,
			     a.present ? "present" : "absent", a.write ? ", writable" : "",
			     a.exec ? ", executable" : "");
		return -EFAULT;
	}
	return 0;
}

/* The identity map: nothing executes but exec_page; the image's copy is read-only. */
static int audit_identity(const struct pg_tables *t, int nx, const struct pgprot_expect *e,
			  char *why, size_t n)
{
	uint64_t kend = e->kernel_phys + (e->img.end - e->img.text);
	struct pg_access a;
	for (uint64_t va = PG_SIZE_4K; va < e->identity_top; va += a.size) {
		pg_lookup(t, va, nx, &a);
		int in_image = va < kend && va + a.size > e->kernel_phys;
		int exec_ok = !nx || (va == e->exec_page && a.size == PG_SIZE_4K);
		if (!a.present || a.phys != va) {
			fmt_snprintf(why, n, "identity page 0x%lx is %s", va,
				     a.present ? "mapped elsewhere" : "absent");
			return -EFAULT;
		}
		if ((a.exec && !exec_ok) || (a.write && (in_image || va == e->exec_page))) {
			fmt_snprintf(why, n, "identity page 0x%lx (%s) is %s", va,
				     in_image ? "the kernel's copy" : "memory",
				     a.exec ? "executable" : "writable");
			return -EFAULT;
		}
		a.size -= va & (a.size - 1); /* from inside a large page, go to its end */
	}
	return 0;
}

int pgprot_audit(const struct pg_tables *t, int nx, const struct pgprot_expect *e, char *why,
		 size_t n)
{
	struct pg_access a;
	pg_lookup(t, 0, nx, &a);
	if (a.present) {
		fmt_snprintf(why, n, "page 0 is mapped");
		return -EFAULT;
	}
	int err = audit_image(t, nx, &e->img, why, n);
	return err ? err : audit_identity(t, nx, e, why, n);
}
