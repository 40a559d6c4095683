/*
 * net/crypto/include/string.h - BearSSL includes <string.h> for memcpy and
 * memset; the freestanding kernel's are vmm/core/lib's. Only on BearSSL's
 * include path (the Makefile's BEARSSL_INC).
 */
#include "vmm/core/lib/string.h"
