/*
 * vmm/core/lib/pgprot.h - hako's own page-table entries and what they grant
 * (SDM Vol. 3A 4.5 "4-level paging", 4.6 "access rights"): the flags each
 * kind of page gets, a builder for 4-level tables with 4 KiB and 2 MiB
 * leaves, a lookup of the rights a tree grants at an address, and the
 * audit boot runs on its own tables. Portable: table memory comes through
 * struct pg_tables, so the host unit tests build and audit trees in
 * ordinary memory. (vmm/pagetable.c builds guests' nested tables; this
 * one sits below it, in the kernel core.)
 */
#ifndef HAKO_PGPROT_H
#define HAKO_PGPROT_H

#include <stddef.h>
#include <stdint.h>

#define PG_SIZE_4K (1ull << 12)
#define PG_SIZE_2M (1ull << 21)

/* Page-table entry bits (SDM Vol. 3A Table 4-15 to 4-20). */
#define PTE_P (1ull << 0)    /* present */
#define PTE_W (1ull << 1)    /* writable (for supervisor code only with CR0.WP) */
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_PS (1ull << 7)   /* in a PDE: a 2 MiB page */
#define PTE_NX (1ull << 63)  /* execute-disable; reserved unless EFER.NXE */
#define PTE_ADDR 0x000ffffffffff000ull

/* What a page holds, which decides its rights (W^X: never both). */
enum pg_kind {
	PG_ABSENT, /* not present: page 0, so a NULL dereference faults */
	PG_CODE,   /* read, execute */
	PG_RODATA, /* read only */
	PG_DATA,   /* read, write: data, bss, stacks, heap, guest memory */
	PG_MMIO,   /* read, write, uncached */
};

/* The leaf flags of a kind; `nx` says the CPU has execute-disable (EFER.NXE set). */
uint64_t pgprot_flags(enum pg_kind kind, int nx);

/* The kernel image's sections at their virtual addresses (linker.ld), 4 KiB aligned. */
struct pgprot_image {
	uint64_t text;   /* code starts */
	uint64_t rodata; /* code ends, read-only data starts */
	uint64_t data;   /* read-only data ends; data and bss start */
	uint64_t end;    /* the image ends */
};

/* Which kind the image page at `va` is (PG_ABSENT outside the image). */
enum pg_kind pgprot_image_kind(const struct pgprot_image *img, uint64_t va);

/* A tree of tables and where its memory comes from. */
struct pg_tables {
	uint64_t root; /* physical address of the PML4 */
	void *ctx;
	/* A zeroed 4 KiB table: its physical address (0 when out of memory). */
	uint64_t (*alloc)(void *ctx);
	/* Where the table at `phys` can be read and written. */
	uint64_t *(*table)(void *ctx, uint64_t phys);
};

/*
 * Maps one page: `size` is PG_SIZE_4K or PG_SIZE_2M, va and pa aligned to
 * it, `flags` leaf flags (PTE_P set for a present page). A 4 KiB page
 * inside an existing 2 MiB leaf splits it into 512 small ones with the
 * same rights first. Upper levels are present and writable without NX,
 * so the leaf alone decides (SDM 4.6: the rights of every level combine).
 * Returns 0, -EINVAL (bad size or alignment, a 2 MiB page over a table)
 * or -ENOMEM.
 */
int pg_map(struct pg_tables *t, uint64_t va, uint64_t pa, uint64_t size, uint64_t flags);

/* What the tree grants at one address. */
struct pg_access {
	int present, write, exec;
	uint64_t size; /* of the leaf (PG_SIZE_4K, PG_SIZE_2M or 1 GiB), or 4 KiB when absent */
	uint64_t phys; /* where `va` lands */
};

/*
 * Walks the tree for `va` as the CPU does with CR0.WP set: writable only
 * if every level is, executable only if no level has NX (with `nx`, that
 * is EFER.NXE; without it nothing is execute-disabled).
 */
void pg_lookup(const struct pg_tables *t, uint64_t va, int nx, struct pg_access *a);

/* What boot expects of its own tables. */
struct pgprot_expect {
	struct pgprot_image img;
	uint64_t kernel_phys;  /* the image's physical copy, in the identity map */
	uint64_t identity_top; /* [0, identity_top) is mapped at its own address */
	uint64_t exec_page;    /* the one identity page that may execute (AP start-up), or 0 */
};

/*
 * Builds hako's layout into an empty tree (t->root allocated and zeroed):
 * [0, identity_top) at its own address as data (2 MiB pages; the first
 * 2 MiB in 4 KiB pages with page 0 absent), the image's identity copy
 * read-only, and the image at img.text with each section's rights.
 * exec_page is left to the caller (it is patched before it may execute).
 * Returns 0, -EINVAL or -ENOMEM.
 */
int pgprot_build(struct pg_tables *t, const struct pgprot_expect *e, int nx);

/*
 * Checks the tree: page 0 absent; code present, read-only, executable;
 * read-only data present, read-only, not executable; data present,
 * writable, not executable; the identity map nowhere executable except
 * exec_page (which must not be writable), and the image's identity copy
 * read-only. Returns 0, or -EFAULT with the first problem in `why`.
 */
int pgprot_audit(const struct pg_tables *t, int nx, const struct pgprot_expect *e, char *why,
		 size_t n);

#endif
