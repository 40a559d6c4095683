/*
 * vmm/dev/aml.c - the AML builder of aml.h (ACPI 6.4 20.2 grammar).
 *
 * Scopes with a PkgLength (20.2.4) are written with a fixed 4-byte
 * length field: the length is known only at aml_end(), and a 4-byte
 * PkgLength may encode any value the short forms could (20.2.4 allows
 * the longer encoding), so nothing has to move.
 */
#include "vmm/dev/aml.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/string.h"

#define AML_ZERO 0x00
#define AML_ONE 0x01
#define AML_NAME 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE 0x10
#define AML_BUFFER 0x11
#define AML_PACKAGE 0x12
#define AML_METHOD 0x14
#define AML_NOTIFY 0x86
#define AML_EXT_PREFIX 0x5b
#define AML_DEVICE 0x82     /* after 0x5b */
#define AML_ROOT_CHAR '\\'
#define AML_DUAL_NAME 0x2e
#define AML_MULTI_NAME 0x2f

void aml_init(struct aml *a, uint8_t *buf, unsigned cap)
{
	memset(a, 0, sizeof(*a));
	a->buf = buf;
	a->cap = cap;
}

void aml_byte(struct aml *a, uint8_t b)
{
	if (a->len >= a->cap) {
		a->overflow = 1;
		return;
	}
	a->buf[a->len++] = b;
}

static void aml_le(struct aml *a, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		aml_byte(a, (uint8_t)(v >> (8 * i)));
}

/* Each segment is 4 characters, padded with '_' (20.2.2 NameSeg). */
static void aml_seg(struct aml *a, const char *s, unsigned n)
{
	for (unsigned i = 0; i < 4; i++)
		aml_byte(a, (uint8_t)(i < n ? s[i] : '_'));
}

void aml_name(struct aml *a, const char *name)
{
	if (*name == AML_ROOT_CHAR)
		aml_byte(a, (uint8_t)*name++);
	unsigned segs = 0;
	for (const char *p = name; *p; segs++) {
		const char *dot = strchr(p, '.');
		p = dot ? dot + 1 : p + strlen(p);
	}
	if (segs == 2)
		aml_byte(a, AML_DUAL_NAME);
	else if (segs > 2)
		aml_byte(a, AML_MULTI_NAME), aml_byte(a, (uint8_t)segs);
	while (*name) {
		const char *dot = strchr(name, '.');
		unsigned n = dot ? (unsigned)(dot - name) : (unsigned)strlen(name);
		aml_seg(a, name, n > 4 ? 4 : n);
		name += n + (dot ? 1 : 0);
	}
	if (!segs)
		aml_byte(a, 0); /* NullName */
}

void aml_int(struct aml *a, uint64_t v)
{
	if (v == 0)
		aml_byte(a, AML_ZERO);
	else if (v == 1)
		aml_byte(a, AML_ONE);
	else if (v <= 0xff)
		aml_byte(a, AML_BYTE_PREFIX), aml_le(a, v, 1);
	else if (v <= 0xffff)
		aml_byte(a, AML_WORD_PREFIX), aml_le(a, v, 2);
	else if (v <= 0xffffffffull)
		aml_byte(a, AML_DWORD_PREFIX), aml_le(a, v, 4);
	else
		aml_byte(a, AML_QWORD_PREFIX), aml_le(a, v, 8);
}

void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, AML_STRING_PREFIX);
	while (*s)
		aml_byte(a, (uint8_t)*s++);
	aml_byte(a, 0);
}

/* ACPI 6.4 6.1.5: three 5-bit letters and four hex digits, stored big-endian. */
void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < 3; i++)
		v = v << 5 | (uint32_t)((id[i] - '@') & 0x1f);
	for (unsigned i = 3; i < 7; i++) {
		char c = id[i];
		v = v << 4 | (uint32_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	aml_byte(a, AML_DWORD_PREFIX);
	aml_le(a, __builtin_bswap32(v), 4);
}

static void pkg_open(struct aml *a)
{
	if (a->depth == sizeof(a->open) / sizeof(a->open[0])) {
		a->overflow = 1;
		return;
	}
	a->open[a->depth++] = a->len;
	aml_le(a, 0, 4); /* PkgLength placeholder, patched by aml_end */
}

void aml_scope_begin(struct aml *a, const char *name)
{
	aml_byte(a, AML_SCOPE);
	pkg_open(a);
	aml_name(a, name);
}

void aml_device_begin(struct aml *a, const char *name)
{
	aml_byte(a, AML_EXT_PREFIX);
	aml_byte(a, AML_DEVICE);
	pkg_open(a);
	aml_name(a, name);
}

/* 20.2.5.2 DefMethod: MethodOp PkgLength NameString MethodFlags TermList */
void aml_method_begin(struct aml *a, const char *name, unsigned nargs)
{
	aml_byte(a, AML_METHOD);
	pkg_open(a);
	aml_name(a, name);
	aml_byte(a, (uint8_t)(nargs & 7));
}

/* 20.2.5.3 DefNotify: NotifyOp NotifyObject NotifyValue */
void aml_notify(struct aml *a, const char *object, uint8_t value)
{
	aml_byte(a, AML_NOTIFY);
	aml_name(a, object);
	aml_int(a, value);
}

void aml_package_begin(struct aml *a, unsigned nelems)
{
	aml_byte(a, AML_PACKAGE);
	pkg_open(a);
	aml_byte(a, (uint8_t)nelems);
}

/* Buffer: PkgLength BufferSize ByteList; the size is patched by aml_end too. */
void aml_buffer_begin(struct aml *a)
{
	aml_byte(a, AML_BUFFER);
	pkg_open(a);
	aml_byte(a, AML_DWORD_PREFIX);
	aml_le(a, 0, 4);
}

void aml_end(struct aml *a)
{
	if (!a->depth) {
		a->overflow = 1;
		return;
	}
	unsigned at = a->open[--a->depth];
	if (a->overflow || at + 4 > a->len)
		return;
	uint32_t len = a->len - at; /* PkgLength counts itself */
	/* 4-byte form: bits 7-6 of the lead byte = 3, low nibble + 3 more bytes */
	a->buf[at] = (uint8_t)(0xc0 | (len & 0xf));
	a->buf[at + 1] = (uint8_t)(len >> 4);
	a->buf[at + 2] = (uint8_t)(len >> 12);
	a->buf[at + 3] = (uint8_t)(len >> 20);
	if (at >= 1 && a->buf[at - 1] == AML_BUFFER) {
		uint32_t size = a->len - (at + 9);
		for (unsigned i = 0; i < 4; i++)
			a->buf[at + 5 + i] = (uint8_t)(size >> (8 * i));
	}
}

void aml_name_begin(struct aml *a, const char *name)
{
	aml_byte(a, AML_NAME);
	aml_name(a, name);
}

/* 6.4.2.5 I/O Port Descriptor, 16-bit decode */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len)
{
	aml_byte(a, 0x47);
	aml_byte(a, 0x01);
	aml_le(a, base, 2);
	aml_le(a, base, 2);
	aml_byte(a, 1);
	aml_byte(a, len);
}

/* 6.4.2.1 IRQ Descriptor without the flags byte: edge, active high */
void aml_res_irq_noflags(struct aml *a, unsigned irq)
{
	aml_byte(a, 0x22);
	aml_le(a, 1u << irq, 2);
}

/* 6.4.3.4 32-Bit Fixed Memory Range Descriptor, read/write */
void aml_res_mem32_fixed(struct aml *a, uint32_t base, uint32_t len)
{
	aml_byte(a, 0x86);
	aml_le(a, 9, 2);
	aml_byte(a, 0x01);
	aml_le(a, base, 4);
	aml_le(a, len, 4);
}

/* 6.4.3.6 Extended Interrupt Descriptor: consumer, exclusive, one GSI */
void aml_res_interrupt(struct aml *a, uint32_t gsi, int level, int active_low)
{
	aml_byte(a, 0x89);
	aml_le(a, 6, 2);
	aml_byte(a, (uint8_t)(0x01 | (level ? 0 : 0x02) | (active_low ? 0x04 : 0)));
	aml_byte(a, 1);
	aml_le(a, gsi, 4);
}

/* 6.4.2.9 End Tag; checksum 0 means "treat as correct" */
void aml_res_end(struct aml *a)
{
	aml_byte(a, 0x79);
	aml_byte(a, 0);
}

int aml_finish(struct aml *a)
{
	return a->overflow || a->depth ? -ENOSPC : 0;
}
