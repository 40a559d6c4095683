/*
 * vmm/guest_mem.c - reaching a guest's memory from hako: a guest-physical
 * range to the host address of the 2 MiB chunk that backs it (vmm/vm.h).
 */
#include "vmm/guest_mem.h"

#include "vmm/vm.h"

void *vm_gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (gpa >= vm->mem.size || len > vm->mem.size - gpa ||
	    gpa / VM_CHUNK_SIZE != (gpa + len - 1) / VM_CHUNK_SIZE)
		return 0;
	return (void *)(vm->mem.chunk[gpa / VM_CHUNK_SIZE] + gpa % VM_CHUNK_SIZE);
}
