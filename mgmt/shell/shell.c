/*
 * mgmt/shell/shell.c - line handling and command dispatch. Portable: the
 * kernel and the unit tests link it with their own command sets.
 */
#include "mgmt/shell/shell.h"

#include <stdarg.h>
#include "vmm/core/lib/string.h"

#include "mgmt/shell/args.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"

extern const struct shell_cmd __start_hako_cmds[], __stop_hako_cmds[];

/* The shell whose command runs now; commands nest when one waits and the
 * service core runs another session's command meanwhile. */
static struct shell *running;

static void echo_cb(void *ctx, const char *s, size_t n)
{
	shell_write(ctx, s, n);
}

/* Session ids; 0 is never one. The service core runs every shell. */
static uint64_t last_id;

void shell_init(struct shell *sh, void (*write)(void *, const char *, size_t), void *ctx)
{
	memset(sh, 0, sizeof(*sh));
	sh->write = write;
	sh->ctx = ctx;
	sh->id = ++last_id;
	line_init(&sh->ed, echo_cb, sh);
}

void shell_end(struct shell *sh)
{
	void (*end)(struct shell *) = sh->end_hook;
	sh->input_hook = 0;
	sh->end_hook = 0;
	if (end)
		end(sh);
	sh->closed = 1;
	sh->id = 0;
}

void shell_give_back(struct shell *sh)
{
	sh->input_hook = 0;
	sh->end_hook = 0;
	shell_prompt(sh);
}

struct shell_ref shell_ref(struct shell *sh)
{
	return (struct shell_ref){ sh, sh->id };
}

struct shell *shell_deref(struct shell_ref r)
{
	return r.sh && r.id && r.sh->id == r.id ? r.sh : 0;
}

int shell_is_admin(const struct shell *sh)
{
	return !sh->remote || sh->admin;
}

void shell_set_input(struct shell *sh, int (*getc)(void *ctx), int (*interrupted)(void *ctx))
{
	sh->getc = getc;
	sh->interrupted = interrupted;
}

struct shell *shell_current(void)
{
	return running;
}

int shell_interrupted(void)
{
	return running && running->interrupted && running->interrupted(running->ctx);
}

/* The oldest byte typed ahead (the caller checked there is one). */
static unsigned char ahead_pop(struct shell *sh)
{
	unsigned char c = sh->ahead[0];
	memmove(sh->ahead, sh->ahead + 1, --sh->ahead_len);
	return c;
}

int shell_read_line(struct shell *sh, char *buf, size_t cap, int echo, void (*wait)(void))
{
	size_t n = 0;
	int after_cr = sh->ed.last_cr; /* the command's own line may end in CR LF */
	for (;;) {
		int c = sh->ahead_len ? ahead_pop(sh) : sh->getc ? sh->getc(sh->ctx) : SHELL_GONE;
		if (c == SHELL_NO_INPUT) {
			wait();
			continue;
		}
		if (after_cr && (c == '\n' || c == 0)) {
			after_cr = 0;
			continue;
		}
		after_cr = 0;
		if (c == SHELL_GONE || c == 3) {
			shell_write(sh, "\n", 1);
			return -1;
		}
		if (c == '\r' || c == '\n') {
			sh->ed.last_cr = c == '\r'; /* the LF of CR LF is not a new line */
			break;
		}
		if ((c == 8 || c == 127) && n) {
			n--;
			if (echo)
				shell_write(sh, "\b \b", 3);
		} else if (c >= 32 && c < 127 && n + 1 < cap) {
			buf[n++] = (char)c;
			if (echo)
				shell_write(sh, (const char *)&buf[n - 1], 1);
		}
	}
	buf[n] = 0;
	shell_write(sh, "\n", 1);
	return (int)n;
}

void shell_write(struct shell *sh, const char *s, size_t n)
{
	if (sh->write) /* a session ended mid-way has none: its output is dropped */
		sh->write(sh->ctx, s, n);
}

static void vprint(struct shell *sh, const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024];
	int n = fmt_snprintf(buf, sizeof(buf), "%s", prefix);
	n += fmt_vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	shell_write(sh, buf, n);
}

void shell_printf(struct shell *sh, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprint(sh, "", fmt, ap);
	va_end(ap);
}

int shell_error(struct shell *sh, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprint(sh, "error: ", fmt, ap);
	va_end(ap);
	shell_write(sh, "\n", 1);
	return -1;
}

const struct shell_cmd *shell_find(const char *name)
{
	for (const struct shell_cmd *c = __start_hako_cmds; c < __stop_hako_cmds; c++)
		if (!strcmp(c->name, name))
			return c;
	return 0;
}

int shell_usage(struct shell *sh, const char *verb)
{
	const struct shell_cmd *c = shell_find(verb);
	if (!c)
		return shell_error(sh, "unknown verb '%s'", verb);
	return shell_error(sh, "usage: %s%s%s", c->name, c->usage[0] ? " " : "", c->usage);
}

void shell_prompt(struct shell *sh)
{
	shell_write(sh, SHELL_PROMPT, sizeof(SHELL_PROMPT) - 1);
}

int shell_execute(struct shell *sh, char *line)
{
	char *argv[ARGS_MAX];
	int argc = args_split(line, argv);

	if (argc == -E2BIG)
		return shell_error(sh, "too many words (at most %d)", ARGS_MAX);
	if (argc < 0)
		return shell_error(sh, "unclosed quote");
	if (argc == 0)
		return 0;
	const struct shell_cmd *c = shell_find(argv[0]);
	if (!c)
		return shell_error(sh, "unknown verb '%.40s'; 'help' lists the verbs", argv[0]);
	struct shell *outer = running;
	running = sh;
	sh->executing++;
	int rc = c->run(sh, argc, argv);
	sh->executing--;
	running = outer;
	return rc;
}

/* ---- commands that finish later (shell.h) ---- */

int shell_pend(struct shell *sh, const struct shell_pending_ops *ops, void *ctx)
{
	sh->pending = ops;
	sh->pending_ctx = ctx;
	sh->interrupting = 0;
	return SHELL_PENDING;
}

int shell_pending(const struct shell *sh)
{
	return sh->pending != 0;
}

void shell_finish(struct shell *sh)
{
	if (!sh->pending)
		return;
	sh->pending = 0;
	/* Finished before its command returned: shell_feed prompts then. */
	if (!sh->executing && !sh->closed)
		shell_prompt(sh);
}

void shell_interrupt(struct shell *sh)
{
	if (!sh->pending || sh->interrupting)
		return; /* one Ctrl-C is enough; the work is stopping */
	sh->interrupting = 1;
	sh->pending->interrupt(sh, sh->pending_ctx);
}

void shell_detach(struct shell *sh)
{
	const struct shell_pending_ops *ops = sh->pending;
	sh->pending = 0;
	sh->ahead_len = 0;
	if (ops)
		ops->detach(sh, sh->pending_ctx);
}

static void feed_one(struct shell *sh, unsigned char c);

int shell_resume(struct shell *sh)
{
	int fed = 0;
	while (sh->ahead_len && !sh->pending && !sh->closed) {
		feed_one(sh, ahead_pop(sh));
		fed = 1;
	}
	return fed;
}

void shell_feed(struct shell *sh, unsigned char c)
{
	if (!sh->pending && !sh->ahead_len) {
		feed_one(sh, c);
		return;
	}
	if (c == 3 && sh->pending) {
		sh->ahead_len = 0; /* like a terminal's interrupt, it drops what was typed ahead */
		shell_interrupt(sh);
		return;
	}
	if (sh->ahead_len < SHELL_AHEAD)
		sh->ahead[sh->ahead_len++] = c; /* beyond that, typing ahead is lost */
	shell_resume(sh);
}

static void feed_one(struct shell *sh, unsigned char c)
{
	if (sh->input_hook) {
		if (sh->input_hook(sh, c))
			shell_give_back(sh);
		return;
	}
	switch (line_feed(&sh->ed, c)) {
	case LINE_NONE:
		return;
	case LINE_DONE:
		shell_execute(sh, sh->ed.buf);
		break;
	case LINE_TOO_LONG:
		shell_error(sh, "line too long (at most %d characters); nothing was run", LINE_MAX);
		break;
	case LINE_CANCEL:
		break;
	}
	line_reset(&sh->ed);
	if (!sh->input_hook && !sh->closed && !sh->pending)
		shell_prompt(sh);
}

/* help [VERB] */
static int cmd_help(struct shell *sh, int argc, char **argv)
{
	if (argc > 2)
		return shell_usage(sh, "help");
	if (argc == 2) {
		const struct shell_cmd *c = shell_find(argv[1]);
		if (!c)
			return shell_error(sh, "unknown verb '%.40s'; 'help' lists the verbs", argv[1]);
		shell_printf(sh, "usage: %s%s%s\n  %s\n", c->name, c->usage[0] ? " " : "",
			     c->usage, c->summary);
		return 0;
	}
	/* List alphabetically without sorting the (read-only) section. */
	const char *prev = "";
	for (;;) {
		const struct shell_cmd *next = 0;
		for (const struct shell_cmd *c = __start_hako_cmds; c < __stop_hako_cmds; c++)
			if (strcmp(c->name, prev) > 0 && (!next || strcmp(c->name, next->name) < 0))
				next = c;
		if (!next)
			return 0;
		shell_printf(sh, "  %-10s %s\n", next->name, next->summary);
		prev = next->name;
	}
}
SHELL_COMMAND(help, "help", "[VERB]", "list verbs, or show one verb's usage", cmd_help);
