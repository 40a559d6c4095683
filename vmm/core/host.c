/*
 * vmm/core/host.c - the boot facts of host.h, and looking up the files the
 * loader brought from \hako\.
 */
#include "vmm/core/host.h"

struct host host;

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

const struct boot_file *bootfs_find(const char *name)
{
	if (!host.bi)
		return 0;
	for (uint32_t i = 0; i < host.bi->file_count; i++) {
		const char *a = host.bi->files[i].name, *b = name;
		while (*a && lower(*a) == lower(*b))
			a++, b++;
		if (!*a && !*b)
			return &host.bi->files[i];
	}
	return 0;
}
