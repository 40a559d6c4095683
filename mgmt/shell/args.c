/*
 * mgmt/shell/args.c - word splitting and value parsing. Portable.
 */
#include "mgmt/shell/args.h"

#include "vmm/core/lib/errno.h"

int args_split(char *line, char **argv)
{
	int argc = 0;
	char *r = line, *w = line;

	for (;;) {
		while (*r == ' ' || *r == '\t')
			r++;
		if (!*r)
			return argc;
		if (argc == ARGS_MAX)
			return -E2BIG;
		argv[argc++] = w;
		int quoted = 0;
		for (; *r; r++) {
			if (*r == '"') {
				quoted = !quoted;
				continue;
			}
			if (quoted && *r == '\\' && (r[1] == '"' || r[1] == '\\')) {
				*w++ = *++r;
				continue;
			}
			if (!quoted && (*r == ' ' || *r == '\t'))
				break;
			*w++ = *r;
		}
		if (quoted)
			return -EINVAL;
		/* w <= r: the NUL lands on the separator, or on the line's own NUL. */
		int more = *r != 0;
		*w++ = 0;
		if (more)
			r++;
	}
}

int args_valid_name(const char *s)
{
	size_t n = 0;
	if (!(s[0] >= 'a' && s[0] <= 'z'))
		return 0;
	for (; s[n]; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return n <= 32;
}
