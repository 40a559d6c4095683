/*
 * mgmt/console/console.h - the network console: telnet-style TCP sessions
 * on hako.cfg's mgmt_port, each a login followed by a shell
 * (mgmt/shell) running the same verbs as the serial console.
 */
#ifndef HAKO_CONSOLE_H
#define HAKO_CONSOLE_H

/*
 * Loads the users from hako.cfg and listens on mgmt_port. Called once,
 * when the management network is up (boot wires it as net_init's
 * `started` hook).
 */
void console_start(void);

#endif
