/*
 * mgmt/shell/line.h - a terminal line editor fed one byte at a time.
 * Portable: it reads bytes and writes echo through a callback, so the
 * serial console, the network console and the unit tests all drive it.
 *
 * Keys: printable ASCII inserts at the end; Backspace/DEL erases; Ctrl-U
 * erases the line; Ctrl-C cancels it; Up/Down (ESC [ A / ESC [ B, also
 * ESC O A/B) walk the history; CR, LF or CR LF end the line. Every other
 * byte is ignored, so binary garbage cannot wedge it.
 */
#ifndef HAKO_LINE_H
#define HAKO_LINE_H

#include <stddef.h>

#define LINE_MAX 1023
#define LINE_HISTORY 16

enum line_event {
	LINE_NONE,     /* keep feeding */
	LINE_DONE,     /* a line is ready in ed->buf */
	LINE_CANCEL,   /* Ctrl-C */
	LINE_TOO_LONG, /* the line ended but was longer than LINE_MAX */
};

struct line_editor {
	char buf[LINE_MAX + 1];
	size_t len;
	int overflow;
	int esc;        /* 0 none, 1 after ESC, 2 after ESC [ or ESC O */
	int last_cr;
	char hist[LINE_HISTORY][LINE_MAX + 1];
	unsigned hist_count; /* entries ever added */
	unsigned hist_pos;   /* 0 = the line being edited; k = k-th newest */
	void (*echo)(void *ctx, const char *s, size_t n);
	void *ctx;
};

void line_init(struct line_editor *ed, void (*echo)(void *, const char *, size_t), void *ctx);
enum line_event line_feed(struct line_editor *ed, unsigned char c);
/* Clears the buffer for the next line (call after handling an event). */
void line_reset(struct line_editor *ed);

#endif
