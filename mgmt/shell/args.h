/*
 * mgmt/shell/args.h - splitting a shell line into words. Portable.
 *
 * Words are separated by spaces or tabs. Double quotes group a word and
 * are removed (`cmdline="console=ttyS0 quiet"` is one word); inside
 * quotes, \" and \\ stand for " and \.
 */
#ifndef HAKO_ARGS_H
#define HAKO_ARGS_H

#include <stddef.h>
#include <stdint.h>

#define ARGS_MAX 64

/*
 * Splits `line` in place. Returns the word count, or -EINVAL (unclosed
 * quote), -E2BIG (more than ARGS_MAX words).
 */
int args_split(char *line, char **argv);

/* A name is 1-32 characters of [a-z0-9_-], starting with a letter. */
int args_valid_name(const char *s);

#endif
