/*
 * vmm/exit_trace_mem.c - the memory of the guests' exit rings
 * (exit_trace_set(), vmm/exit_trace.h): one ring per guest slot, taken
 * from the page allocator the first time a guest of that slot is traced
 * and kept, so that no vCPU ever writes to a ring that went away.
 */
#include "vmm/exit_trace.h"

#include "vmm/core/lib/buddy.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/page.h"
#include "vmm/vm.h"

static struct exit_trace *rings[VM_MAX];

int exit_trace_set(struct vm *vm, int on)
{
	unsigned slot = (unsigned)(vm - vms);
	if (!vm->trace) {
		if (!on)
			return 0;
		if (!rings[slot])
			rings[slot] = (struct exit_trace *)page_alloc(
				buddy_order_for(sizeof(struct exit_trace)), PAGE_HAKO);
		if (!rings[slot])
			return -ENOMEM;
		memset(rings[slot], 0, sizeof(*rings[slot])); /* the last guest's records */
		vm->trace = rings[slot];
	}
	vm->trace->on = on;
	return 0;
}
