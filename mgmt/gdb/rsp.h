/*
 * mgmt/gdb/rsp.h - the framing of GDB's remote serial protocol (the
 * "Overview" and "Packets" sections of GDB's manual, appendix E),
 * portable: `$data#cc` packets with a two-digit hex checksum, `+`/`-`
 * acknowledgements, a bare 0x03 for Ctrl-C, `}` escapes and `*` run
 * lengths (which hako never sends).
 *
 * Input comes from the network a byte at a time and is hostile: a packet
 * longer than RSP_MAX is dropped whole (and answered `-`), a bad
 * checksum too; nothing is kept between packets but the state.
 */
#ifndef HAKO_RSP_H
#define HAKO_RSP_H

#include <stddef.h>
#include <stdint.h>

#define RSP_MAX 4096 /* the longest packet hako accepts (qSupported PacketSize, hex) */

enum rsp_event {
	RSP_NONE,      /* nothing complete yet */
	RSP_PACKET,    /* rx->buf holds a packet of rx->len bytes, NUL-terminated */
	RSP_BAD,       /* a packet with a bad checksum or too long: answer `-` */
	RSP_INTERRUPT, /* 0x03 outside a packet */
};

struct rsp_rx {
	int state;
	size_t len;
	uint8_t sum;
	uint8_t cc;
	int too_long;
	char buf[RSP_MAX + 1];
};

void rsp_rx_init(struct rsp_rx *rx);
/* Feeds one byte; says what it completed. */
enum rsp_event rsp_rx_byte(struct rsp_rx *rx, uint8_t c);

/*
 * Frames `payload` as `$payload#cc` into `out`, escaping `$ # } *`.
 * Returns the framed length, or 0 when it does not fit in `cap`.
 */
size_t rsp_frame(const char *payload, size_t n, char *out, size_t cap);

/* Hex digits of `len` bytes at `p` into out (2*len chars, NUL-terminated). */
void rsp_hex_encode(const void *p, size_t len, char *out);
/* Decodes exactly 2*len hex digits. 0 or -1. */
int rsp_hex_decode(const char *hex, size_t len, void *out);
/* A hex number at *s up to a non-hex character; moves *s past it. 0, or -1 for none/too long. */
int rsp_hex_u64(const char **s, uint64_t *val);

#endif
