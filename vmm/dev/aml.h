/*
 * vmm/dev/aml.h - a small builder for ACPI Machine Language (ACPI 6.4
 * chapter 20 "ACPI Machine Language Specification"), enough for the
 * static DSDT hako gives Linux guests: scopes, devices, names with
 * integers, strings, EISA IDs, packages and resource templates (6.4.3).
 * Portable; writes into a caller's buffer and records overflow instead
 * of writing past it.
 */
#ifndef HAKO_DEV_AML_H
#define HAKO_DEV_AML_H

#include <stdint.h>

struct aml {
	uint8_t *buf;
	unsigned cap, len;
	int overflow;
	unsigned open[8];       /* start offsets of open PkgLength scopes */
	unsigned depth;
};

void aml_init(struct aml *a, uint8_t *buf, unsigned cap);
void aml_byte(struct aml *a, uint8_t b);
/* A NameSeg or path of 4-character segments ("_SB_", "\\_SB_", ...) */
void aml_name(struct aml *a, const char *name);
/* Integer with the shortest encoding (ZeroOp, OneOp, Byte/Word/DWord/QWordPrefix). */
void aml_int(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* EISA ID "PNP0501" as the compressed DWord of ACPI 6.4 6.1.5. */
void aml_eisaid(struct aml *a, const char *id);

/* Scope(name) { ... }, Device(name) { ... }, Package(n) { ... }, Buffer { ... } */
void aml_scope_begin(struct aml *a, const char *name);
void aml_device_begin(struct aml *a, const char *name);
void aml_package_begin(struct aml *a, unsigned nelems);
void aml_buffer_begin(struct aml *a);
/* Closes the innermost open scope, device, package or buffer. */
void aml_end(struct aml *a);
/* Method(name, nargs) { ... } (not serialized), closed by aml_end. */
void aml_method_begin(struct aml *a, const char *name, unsigned nargs);
/* Notify(object, value) */
void aml_notify(struct aml *a, const char *object, uint8_t value);
/* NameOp NameString: the data object follows. */
void aml_name_begin(struct aml *a, const char *name);

/* Resource descriptors (ACPI 6.4 6.4.2, 6.4.3) inside a buffer. */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len);
void aml_res_irq_noflags(struct aml *a, unsigned irq);
void aml_res_mem32_fixed(struct aml *a, uint32_t base, uint32_t len);
void aml_res_interrupt(struct aml *a, uint32_t gsi, int level, int active_low);
void aml_res_end(struct aml *a);

/* 0 if everything fit, -ENOSPC otherwise (or when scopes stay open). */
int aml_finish(struct aml *a);

#endif
