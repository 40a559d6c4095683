/*
 * vmm/guest_mem.h - a guest's memory as hako reaches it (vmm/guest_mem.c).
 */
#ifndef HAKO_GUEST_MEM_H
#define HAKO_GUEST_MEM_H

#include <stdint.h>

struct vm;

/*
 * Where guest-physical [gpa, gpa+len) lives in host memory, or 0 if any of
 * it is outside the guest's RAM or the range crosses a 2 MiB chunk.
 */
void *vm_gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len);

#endif
