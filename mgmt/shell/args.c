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

int args_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		uint64_t d = (uint64_t)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int args_parse_size(const char *s, uint64_t *out)
{
	char digits[24];
	size_t n = 0;
	while (s[n] >= '0' && s[n] <= '9') {
		if (n == sizeof(digits) - 1)
			return -ERANGE;
		digits[n] = s[n];
		n++;
	}
	digits[n] = 0;
	unsigned shift = 0;
	char suffix = s[n];
	if (suffix == 'K' || suffix == 'k')
		shift = 10;
	else if (suffix == 'M' || suffix == 'm')
		shift = 20;
	else if (suffix == 'G' || suffix == 'g')
		shift = 30;
	else if (suffix)
		return -EINVAL;
	if (suffix && s[n + 1])
		return -EINVAL;
	uint64_t v;
	int err = args_parse_uint(digits, 0, UINT64_MAX, &v);
	if (err)
		return err;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
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
