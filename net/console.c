/* placeholder replaced below */
#include "net/net.h"
void console_start(void) {}
