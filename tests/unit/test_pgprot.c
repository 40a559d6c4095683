/*
 * tests/unit/test_pgprot.c - vmm/core/lib/pgprot.c: the rights each kind
 * of page gets, hako's own layout built into tables in ordinary memory,
 * and the boot audit that reads them back (issue 17 finding 2: page 0
 * absent, code read-only and executable, data never executable).
 */
#include <stdint.h>
#include <stdlib.h>

#include "tests/unit/check.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/pgprot.h"

/* Fake physical memory for the tables: "physical" addresses from 0x7000000. */
#define POOL_PAGES 64
#define POOL_BASE 0x7000000ull
static uint64_t (*pool)[512];
static unsigned pool_used;

static uint64_t fake_alloc(void *ctx)
{
	(void)ctx;
	if (pool_used == POOL_PAGES)
		return 0;
	memset(pool[pool_used], 0, 4096);
	return POOL_BASE + 4096ull * pool_used++;
}

static uint64_t *fake_table(void *ctx, uint64_t phys)
{
	(void)ctx;
	uint64_t i = (phys - POOL_BASE) / 4096;
	if (phys < POOL_BASE || i >= pool_used) {
		printf("FAIL: table at 0x%llx is not a table page\n", (unsigned long long)phys);
		abort();
	}
	return pool[i];
}

static struct pg_tables fresh_tables(void)
{
	pool_used = 0;
	struct pg_tables t = { 0, 0, fake_alloc, fake_table };
	t.root = fake_alloc(0);
	return t;
}

#define VBASE 0xffffffff80000000ull
/* Like linker.ld: text, rodata and data+bss, page-aligned; the copy at 6 MiB. */
static const struct pgprot_expect layout = {
	{ VBASE, VBASE + 0x39000, VBASE + 0x49000, VBASE + 0x138000 },
	0x600000, 64ull << 20, 0,
};

static void test_flags(void)
{
	CHECK_EQ(pgprot_flags(PG_ABSENT, 1), 0);
	CHECK_EQ(pgprot_flags(PG_CODE, 1), PTE_P);
	CHECK_EQ(pgprot_flags(PG_RODATA, 1), PTE_P | PTE_NX);
	CHECK_EQ(pgprot_flags(PG_DATA, 1), PTE_P | PTE_W | PTE_NX);
	CHECK_EQ(pgprot_flags(PG_MMIO, 1), PTE_P | PTE_W | PTE_PCD | PTE_PWT | PTE_NX);
	/* Without EFER.NXE bit 63 is reserved: never set it. */
	for (int k = PG_ABSENT; k <= PG_MMIO; k++) {
		CHECK(!(pgprot_flags(k, 0) & PTE_NX));
		CHECK(!((pgprot_flags(k, 1) & PTE_W) && !(pgprot_flags(k, 1) & PTE_NX))); /* W^X */
	}
}

static void test_image_kind(void)
{
	const struct pgprot_image *img = &layout.img;
	CHECK_EQ(pgprot_image_kind(img, VBASE - 4096), PG_ABSENT);
	CHECK_EQ(pgprot_image_kind(img, VBASE), PG_CODE);
	CHECK_EQ(pgprot_image_kind(img, img->rodata - 1), PG_CODE);
	CHECK_EQ(pgprot_image_kind(img, img->rodata), PG_RODATA);
	CHECK_EQ(pgprot_image_kind(img, img->data - 1), PG_RODATA);
	CHECK_EQ(pgprot_image_kind(img, img->data), PG_DATA);
	CHECK_EQ(pgprot_image_kind(img, img->end - 1), PG_DATA);
	CHECK_EQ(pgprot_image_kind(img, img->end), PG_ABSENT);
}

static void test_map_and_lookup(void)
{
	struct pg_tables t = fresh_tables();
	struct pg_access a;
	CHECK_EQ(pg_map(&t, 0x200000, 0x200000, PG_SIZE_2M, pgprot_flags(PG_DATA, 1)), 0);
	pg_lookup(&t, 0x2abcde, 1, &a);
	CHECK(a.present && a.write && !a.exec);
	CHECK_EQ(a.size, PG_SIZE_2M);
	CHECK_EQ(a.phys, 0x2abcde);
	/* A small page inside splits the large one; its neighbours keep their rights. */
	CHECK_EQ(pg_map(&t, 0x203000, 0x203000, PG_SIZE_4K, pgprot_flags(PG_CODE, 1)), 0);
	pg_lookup(&t, 0x203010, 1, &a);
	CHECK(a.present && !a.write && a.exec);
	CHECK_EQ(a.size, PG_SIZE_4K);
	pg_lookup(&t, 0x204000, 1, &a);
	CHECK(a.present && a.write && !a.exec);
	CHECK_EQ(a.phys, 0x204000);
	/* Not over a table of small pages; bad sizes and alignment. */
	CHECK_EQ(pg_map(&t, 0x200000, 0x200000, PG_SIZE_2M, PTE_P), -EINVAL);
	CHECK_EQ(pg_map(&t, 0x1000, 0x1000, 8192, PTE_P), -EINVAL);
	CHECK_EQ(pg_map(&t, 0x1800, 0x1000, PG_SIZE_4K, PTE_P), -EINVAL);
	CHECK_EQ(pg_map(&t, 0x1000, 1ull << 60, PG_SIZE_4K, PTE_P), -EINVAL);
	/* Absent pages and an upper level's NX (the rights of all levels combine). */
	pg_lookup(&t, 0x40000000, 1, &a);
	CHECK(!a.present);
	uint64_t *pml4 = fake_table(0, t.root);
	pml4[0] |= PTE_NX;
	pg_lookup(&t, 0x203000, 1, &a);
	CHECK(a.present && !a.exec);
	pg_lookup(&t, 0x203000, 0, &a); /* without NXE the bit means nothing */
	CHECK(a.exec);
	/* Out of table memory is an error, not a crash. */
	pool_used = POOL_PAGES;
	CHECK_EQ(pg_map(&t, 0x8000000000ull, 0, PG_SIZE_4K, PTE_P), -ENOMEM);
}

static void test_layout_passes_audit(void)
{
	struct pg_tables t = fresh_tables();
	char why[160] = "";
	CHECK_EQ(pgprot_build(&t, &layout, 1), 0);
	CHECK_EQ(pgprot_audit(&t, 1, &layout, why, sizeof(why)), 0);
	CHECK_STREQ(why, "");
	struct pg_access a;
	pg_lookup(&t, 0, 1, &a);
	CHECK(!a.present);
	pg_lookup(&t, 0xfff, 1, &a);
	CHECK(!a.present);
	pg_lookup(&t, layout.img.text + 0x1234, 1, &a);
	CHECK(a.present && !a.write && a.exec);
	CHECK_EQ(a.phys, layout.kernel_phys + 0x1234);
	pg_lookup(&t, layout.img.data, 1, &a);
	CHECK(a.present && a.write && !a.exec);
	pg_lookup(&t, layout.kernel_phys, 1, &a); /* the identity copy of the code */
	CHECK(a.present && !a.write && !a.exec);
	pg_lookup(&t, 0x3000000, 1, &a);
	CHECK(a.present && a.write && !a.exec);
	CHECK_EQ(a.size, PG_SIZE_2M);

	/* The AP start-up page, made executable (and read-only) after patching. */
	struct pgprot_expect e = layout;
	e.exec_page = 0x8000;
	CHECK_EQ(pgprot_audit(&t, 1, &e, why, sizeof(why)), -EFAULT); /* still writable */
	CHECK_CONTAINS(why, "identity page 0x8000 (memory) is writable");
	CHECK_EQ(pg_map(&t, 0x8000, 0x8000, PG_SIZE_4K, pgprot_flags(PG_CODE, 1)), 0);
	CHECK_EQ(pgprot_audit(&t, 1, &e, why, sizeof(why)), 0);
	CHECK(pgprot_audit(&t, 1, &layout, why, sizeof(why)) == -EFAULT); /* not allowed there */
	CHECK_CONTAINS(why, "identity page 0x8000 (memory) is executable");
}

/* Each way the tables could be wrong is caught, with where. */
static void expect_problem(void (*spoil)(struct pg_tables *t), const char *what)
{
	struct pg_tables t = fresh_tables();
	char why[160] = "";
	CHECK_EQ(pgprot_build(&t, &layout, 1), 0);
	spoil(&t);
	CHECK_EQ(pgprot_audit(&t, 1, &layout, why, sizeof(why)), -EFAULT);
	CHECK_CONTAINS(why, what);
}

static void map_page0(struct pg_tables *t) { pg_map(t, 0, 0, PG_SIZE_4K, PTE_P); }
static void writable_text(struct pg_tables *t)
{
	pg_map(t, VBASE + 0x5000, layout.kernel_phys + 0x5000, PG_SIZE_4K, PTE_P | PTE_W);
}
static void executable_rodata(struct pg_tables *t)
{
	pg_map(t, VBASE + 0x40000, layout.kernel_phys + 0x40000, PG_SIZE_4K, PTE_P);
}
static void executable_bss(struct pg_tables *t)
{
	pg_map(t, VBASE + 0x100000, layout.kernel_phys + 0x100000, PG_SIZE_4K, PTE_P | PTE_W);
}
static void absent_data(struct pg_tables *t)
{
	pg_map(t, VBASE + 0x137000, 0, PG_SIZE_4K, 0);
}
static void executable_heap(struct pg_tables *t)
{
	pg_map(t, 0x2000000, 0x2000000, PG_SIZE_2M, PTE_P | PTE_W);
}
static void writable_copy(struct pg_tables *t)
{
	pg_map(t, layout.kernel_phys + 0x2000, layout.kernel_phys + 0x2000, PG_SIZE_4K,
	       PTE_P | PTE_W | PTE_NX);
}
static void hole_in_identity(struct pg_tables *t)
{
	pg_map(t, 0x1000000, 0, PG_SIZE_2M, 0);
}

static void test_audit_catches(void)
{
	expect_problem(map_page0, "page 0 is mapped");
	expect_problem(writable_text, "text page 0xffffffff80005000 is present, writable, executable");
	expect_problem(executable_rodata, "rodata page 0xffffffff80040000 is present, executable");
	expect_problem(executable_bss, "data page 0xffffffff80100000 is present, writable, executable");
	expect_problem(absent_data, "data page 0xffffffff80137000 is absent");
	expect_problem(executable_heap, "identity page 0x2000000 (memory) is executable");
	expect_problem(writable_copy, "identity page 0x602000 (the kernel's copy) is writable");
	expect_problem(hole_in_identity, "identity page 0x1000000 is absent");
}

/* Without NX (a CPU that lacks it) the audit still checks page 0 and W. */
static void test_without_nx(void)
{
	struct pg_tables t = fresh_tables();
	char why[160] = "";
	CHECK_EQ(pgprot_build(&t, &layout, 0), 0);
	CHECK_EQ(pgprot_audit(&t, 0, &layout, why, sizeof(why)), 0);
	writable_text(&t);
	CHECK_EQ(pgprot_audit(&t, 0, &layout, why, sizeof(why)), -EFAULT);
	struct pgprot_expect odd = layout;
	odd.img.rodata += 1;
	CHECK_EQ(pgprot_build(&t, &odd, 0), -EINVAL);
}

int main(void)
{
	pool = aligned_alloc(4096, POOL_PAGES * 4096);
	RUN(test_flags);
	RUN(test_image_kind);
	RUN(test_map_and_lookup);
	RUN(test_layout_passes_audit);
	RUN(test_audit_catches);
	RUN(test_without_nx);
	free(pool);
	return check_done();
}
