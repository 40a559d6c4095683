/*
 * mgmt/console/telnet.c - telnet receive filter (RFC 854, "The Telnet Protocol"):
 * IAC followed by WILL/WONT/DO/DONT takes one option byte; IAC SB starts a
 * subnegotiation that runs until IAC SE; IAC IAC is a data 0xff; any other
 * IAC command is two bytes. Portable.
 */
#include "mgmt/console/telnet.h"

enum { T_DATA, T_IAC, T_OPT, T_SB, T_SB_IAC };

int telnet_rx_byte(struct telnet_rx *t, uint8_t c)
{
	switch (t->state) {
	case T_IAC:
		t->state = c == TELNET_SB ? T_SB :
			   (c >= TELNET_WILL && c <= TELNET_DONT) ? T_OPT : T_DATA;
		return c == TELNET_IAC ? c : -1;
	case T_OPT:
		t->state = T_DATA;
		return -1;
	case T_SB:
		if (c == TELNET_IAC)
			t->state = T_SB_IAC;
		return -1;
	case T_SB_IAC:
		t->state = c == TELNET_SE ? T_DATA : T_SB;
		return -1;
	default:
		t->state = T_DATA;
		if (c == TELNET_IAC) {
			t->state = T_IAC;
			return -1;
		}
		return c;
	}
}
