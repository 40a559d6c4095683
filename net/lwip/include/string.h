/*
 * net/lwip/include/string.h - lwIP includes <string.h>; the freestanding
 * kernel's string functions are vmm/lib's. Only on lwIP's include path.
 */
#include "vmm/core/lib/string.h"
