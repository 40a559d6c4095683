/*
 * net/crypto/include/limits.h - BearSSL includes <limits.h>. GCC's own
 * limits.h has every value but ends by looking for the C library's, which a
 * freestanding build has not: saying it is already there stops the search.
 * Only on BearSSL's include path (the Makefile's BEARSSL_INC).
 */
#define _LIBC_LIMITS_H_
#include_next <limits.h>
