/*
 * mgmt/console/telnet.h - the receive side of the telnet protocol (RFC 854) that
 * the network console needs: strip commands and option negotiation from
 * the byte stream, keep data (an escaped IAC IAC is one 0xff data byte).
 * Portable; tests/unit/test_telnet.c feeds it random streams.
 */
#ifndef HAKO_TELNET_H
#define HAKO_TELNET_H

#include <stdint.h>

#define TELNET_IAC 255
#define TELNET_DONT 254
#define TELNET_DO 253
#define TELNET_WONT 252
#define TELNET_WILL 251
#define TELNET_SB 250
#define TELNET_SE 240
#define TELNET_OPT_ECHO 1 /* RFC 857 */
#define TELNET_OPT_SGA 3  /* RFC 858 */

struct telnet_rx {
	uint8_t state; /* enum in telnet.c; zero is "data" */
};

/* Feeds one received byte: returns it when it is data, else -1. */
int telnet_rx_byte(struct telnet_rx *t, uint8_t c);

#endif
