/*
 * mgmt/cmd_passwd.h - reading a new password on the command's own
 * terminal, for `passwd` and `user add` (mgmt/cmd_passwd.c).
 */
#ifndef HAKO_CMD_PASSWD_H
#define HAKO_CMD_PASSWD_H

#include <stddef.h>

#include "mgmt/shell/shell.h"

/*
 * Asks "new password for USER: " and "again: " without echo and writes
 * the hash of the password (AUTH_HASH_MAX bytes) into hash. 0, or -1
 * after one error line (Ctrl-C, the two differ, empty, too long).
 */
int passwd_ask_new(struct shell *sh, const char *user, char *hash, size_t len);

#endif
