/*
 * mgmt/shell/line.c - the line editor. Portable.
 */
#include "mgmt/shell/line.h"

#define CTRL(c) ((c) & 0x1f)

static void echo(struct line_editor *ed, const char *s, size_t n)
{
	if (ed->echo)
		ed->echo(ed->ctx, s, n);
}

static void erase_all(struct line_editor *ed)
{
	while (ed->len) {
		echo(ed, "\b \b", 3);
		ed->len--;
	}
	ed->overflow = 0;
}

void line_init(struct line_editor *ed, void (*cb)(void *, const char *, size_t), void *ctx)
{
	ed->len = 0;
	ed->overflow = 0;
	ed->esc = 0;
	ed->last_cr = 0;
	ed->hist_count = 0;
	ed->hist_pos = 0;
	ed->echo = cb;
	ed->ctx = ctx;
}

void line_reset(struct line_editor *ed)
{
	ed->len = 0;
	ed->overflow = 0;
	ed->hist_pos = 0;
	ed->buf[0] = 0;
}

static void history_add(struct line_editor *ed)
{
	if (!ed->len)
		return;
	if (ed->hist_count) {
		const char *prev = ed->hist[(ed->hist_count - 1) % LINE_HISTORY];
		size_t i = 0;
		while (i < ed->len && prev[i] == ed->buf[i])
			i++;
		if (i == ed->len && prev[i] == 0)
			return; /* same as the newest entry */
	}
	char *dst = ed->hist[ed->hist_count % LINE_HISTORY];
	for (size_t i = 0; i < ed->len; i++)
		dst[i] = ed->buf[i];
	dst[ed->len] = 0;
	ed->hist_count++;
}

static void history_show(struct line_editor *ed, unsigned pos)
{
	unsigned avail = ed->hist_count < LINE_HISTORY ? ed->hist_count : LINE_HISTORY;
	if (pos > avail)
		return;
	erase_all(ed);
	ed->hist_pos = pos;
	if (!pos)
		return;
	const char *src = ed->hist[(ed->hist_count - pos) % LINE_HISTORY];
	while (src[ed->len])
		ed->buf[ed->len] = src[ed->len], ed->len++;
	echo(ed, ed->buf, ed->len);
}

static enum line_event end_line(struct line_editor *ed)
{
	echo(ed, "\r\n", 2);
	ed->buf[ed->len] = 0;
	if (ed->overflow)
		return LINE_TOO_LONG;
	history_add(ed);
	return LINE_DONE;
}

enum line_event line_feed(struct line_editor *ed, unsigned char c)
{
	int after_cr = ed->last_cr;
	ed->last_cr = 0;

	if (ed->esc == 1) {
		ed->esc = (c == '[' || c == 'O') ? 2 : 0;
		return LINE_NONE;
	}
	if (ed->esc == 2) {
		/* Parameter bytes (digits, ';') continue a sequence; any other ends it. */
		if ((c >= '0' && c <= '9') || c == ';')
			return LINE_NONE;
		ed->esc = 0;
		if (c == 'A')
			history_show(ed, ed->hist_pos + 1);
		else if (c == 'B' && ed->hist_pos)
			history_show(ed, ed->hist_pos - 1);
		return LINE_NONE;
	}
	switch (c) {
	case '\r':
		ed->last_cr = 1;
		return end_line(ed);
	case '\n':
		return after_cr ? LINE_NONE : end_line(ed);
	case 0x1b:
		ed->esc = 1;
		return LINE_NONE;
	case CTRL('C'):
		echo(ed, "^C\r\n", 4);
		return LINE_CANCEL;
	case CTRL('U'):
		erase_all(ed);
		return LINE_NONE;
	case 0x7f:
	case '\b':
		if (ed->overflow)
			return LINE_NONE; /* the stored part stays; Ctrl-U clears all */
		if (ed->len) {
			ed->len--;
			echo(ed, "\b \b", 3);
		}
		return LINE_NONE;
	}
	if (c < 0x20 || c > 0x7e)
		return LINE_NONE;
	if (ed->len == LINE_MAX) {
		ed->overflow = 1;
		return LINE_NONE;
	}
	ed->buf[ed->len++] = (char)c;
	echo(ed, (const char *)&c, 1);
	return LINE_NONE;
}
