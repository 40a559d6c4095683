/*
 * tests/unit/test_shell.c - mgmt/shell/shell.c: dispatch, errors, prompts,
 * help, garbage input, and a running command's input (confirmations,
 * Ctrl-C). Test verbs register with SHELL_COMMAND exactly
 * as kernel commands do.
 */
#include <stdint.h>

#include "mgmt/shell/args.h"
#include "mgmt/shell/shell.h"
#include "tests/unit/check.h"

static char out[1 << 16];
static size_t out_len;

static void sink(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++)
		if (out_len < sizeof(out) - 1)
			out[out_len++] = s[i];
	out[out_len] = 0;
}

static struct shell sh;
static int seen_argc;
static char seen_argv[8][64];

static int cmd_zzecho(struct shell *s, int argc, char **argv)
{
	seen_argc = argc;
	for (int i = 0; i < argc && i < 8; i++)
		snprintf(seen_argv[i], sizeof(seen_argv[i]), "%s", argv[i]);
	for (int i = 1; i < argc; i++)
		shell_printf(s, "[%s]", argv[i]);
	shell_printf(s, "\n");
	return 0;
}
SHELL_COMMAND(zzecho, "zzecho", "WORD...", "print the words in brackets", cmd_zzecho);

static int cmd_aafail(struct shell *s, int argc, char **argv)
{
	(void)argc, (void)argv;
	return shell_error(s, "it failed %d times", 3);
}
SHELL_COMMAND(aafail, "aafail", "", "always fails", cmd_aafail);

static int cmd_mmusage(struct shell *s, int argc, char **argv)
{
	(void)argc, (void)argv;
	return shell_usage(s, "mmusage");
}
SHELL_COMMAND(mmusage, "mmusage", "NAME SIZE", "shows its usage", cmd_mmusage);

static void fresh(void)
{
	shell_init(&sh, sink, 0);
	out_len = 0;
	out[0] = 0;
	seen_argc = -1;
}

static void type(const char *s)
{
	out_len = 0;
	out[0] = 0;
	for (; *s; s++)
		shell_feed(&sh, (unsigned char)*s);
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static int ends_with_prompt(void)
{
	size_t n = strlen(SHELL_PROMPT);
	return out_len >= n && !strcmp(out + out_len - n, SHELL_PROMPT);
}

static void test_dispatch(void)
{
	fresh();
	type("zzecho a \"b c\" d\r");
	CHECK_EQ(seen_argc, 4);
	CHECK_STREQ(seen_argv[0], "zzecho");
	CHECK_STREQ(seen_argv[2], "b c");
	/* Echo of the typed line, CR LF, the output, then the prompt. */
	CHECK_STREQ(out, "zzecho a \"b c\" d\r\n[a][b c][d]\n" SHELL_PROMPT);
	type("  zzecho\r");
	CHECK_EQ(seen_argc, 1);
	CHECK(ends_with_prompt());
	CHECK(shell_find("zzecho") != 0);
	CHECK(shell_find("help") != 0);
	CHECK(shell_find("zzech") == 0);
	CHECK(shell_find("") == 0);
}

static void test_errors(void)
{
	fresh();
	type("frobnicate now\r");
	CHECK_EQ(count(out, "error: "), 1);
	CHECK_CONTAINS(out, "\r\nerror: unknown verb 'frobnicate'");
	CHECK(ends_with_prompt());
	CHECK_EQ(count(out, "\n"), 2); /* the echo's and the error's */

	type("aafail\r");
	CHECK_STREQ(out, "aafail\r\nerror: it failed 3 times\n" SHELL_PROMPT);
	type("mmusage\r");
	CHECK_STREQ(out, "mmusage\r\nerror: usage: mmusage NAME SIZE\n" SHELL_PROMPT);
	type("zzecho \"open\r");
	CHECK_EQ(seen_argc, -1);
	CHECK_EQ(count(out, "error: "), 1);
	CHECK_CONTAINS(out, "unclosed quote");

	char many[400] = "zzecho";
	for (int i = 0; i < ARGS_MAX + 1; i++)
		strcat(many, " w");
	strcat(many, "\r");
	type(many);
	CHECK_EQ(count(out, "error: "), 1);
	CHECK_CONTAINS(out, "too many words");
	CHECK(ends_with_prompt());

	/* A very long unknown verb is cut in the message, not overflowing. */
	char longv[900];
	memset(longv, 'q', sizeof(longv) - 2);
	longv[sizeof(longv) - 2] = '\r';
	longv[sizeof(longv) - 1] = 0;
	type(longv);
	CHECK_EQ(count(out, "error: "), 1);
	CHECK(ends_with_prompt());
}

static void test_too_long_and_cancel(void)
{
	fresh();
	for (int i = 0; i < LINE_MAX + 100; i++)
		shell_feed(&sh, 'z');
	type("\r");
	CHECK_EQ(seen_argc, -1);
	CHECK_EQ(count(out, "error: "), 1);
	CHECK_CONTAINS(out, "line too long");
	CHECK(ends_with_prompt());
	type("zzecho x\x03");
	CHECK_EQ(seen_argc, -1);
	CHECK_EQ(count(out, "error: "), 0);
	CHECK(ends_with_prompt());
	type("\r"); /* an empty line: just a new prompt */
	CHECK_STREQ(out, "\r\n" SHELL_PROMPT);
}

static void test_help(void)
{
	fresh();
	type("help\r");
	/* Sorted by name, each once, with summaries. */
	const char *a = strstr(out, "  aafail "), *h = strstr(out, "  help ");
	const char *m = strstr(out, "  mmusage "), *z = strstr(out, "  zzecho ");
	CHECK(a && h && m && z);
	CHECK(a < h && h < m && m < z);
	CHECK_EQ(count(out, "  help "), 1);
	CHECK_CONTAINS(out, "print the words in brackets");
	CHECK(ends_with_prompt());

	type("help zzecho\r");
	CHECK_CONTAINS(out, "usage: zzecho WORD...");
	CHECK_CONTAINS(out, "print the words in brackets");
	type("help aafail\r"); /* no trailing space after a verb without arguments */
	CHECK_CONTAINS(out, "usage: aafail\n  always fails\n");
	type("help nope\r");
	CHECK_EQ(count(out, "error: "), 1);
	CHECK_CONTAINS(out, "unknown verb 'nope'");
	type("help a b\r");
	CHECK_EQ(count(out, "error: "), 1);
	CHECK_CONTAINS(out, "usage: help [VERB]");
}

static int hook_bytes;
static int hook(struct shell *s, unsigned char c)
{
	(void)s;
	hook_bytes++;
	return c == 0x1d; /* Ctrl-] gives the terminal back */
}

static void test_input_hook(void)
{
	fresh();
	sh.input_hook = hook;
	hook_bytes = 0;
	type("zzecho no\r");
	CHECK_EQ(seen_argc, -1);
	CHECK_EQ(hook_bytes, 10);
	CHECK_EQ(out_len, 0);
	type("\x1d");
	CHECK(sh.input_hook == 0);
	CHECK_STREQ(out, SHELL_PROMPT);
	type("zzecho yes\r");
	CHECK_EQ(seen_argc, 2);
}

static struct shell *ended_shell;
static int ended_calls;
static void end_hook(struct shell *s)
{
	ended_shell = s;
	ended_calls++;
}

/*
 * Issue 17 finding 2: a session that ends while a command holds its
 * terminal calls the command's end hook once, and every reference taken
 * earlier stops matching, also after the memory serves a new session.
 */
static void test_end_and_refs(void)
{
	fresh();
	struct shell_ref r = shell_ref(&sh);
	CHECK(shell_deref(r) == &sh);
	sh.input_hook = hook;
	sh.end_hook = end_hook;
	ended_calls = 0;
	shell_end(&sh);
	CHECK_EQ(ended_calls, 1);
	CHECK(ended_shell == &sh);
	CHECK(sh.input_hook == 0 && sh.end_hook == 0 && sh.closed);
	CHECK(shell_deref(r) == 0);
	shell_end(&sh); /* twice is harmless: no second call */
	CHECK_EQ(ended_calls, 1);
	/* The same memory, a new session: the old reference stays stale. */
	memset(&sh, 0, sizeof(sh));
	CHECK(shell_deref(r) == 0);
	shell_init(&sh, sink, 0);
	CHECK(shell_deref(r) == 0);
	CHECK(shell_deref(shell_ref(&sh)) == &sh);
	CHECK(shell_deref((struct shell_ref){ 0, 0 }) == 0);
	/* A zeroed shell (a slot before its login) drops output rather than calling NULL. */
	memset(&sh, 0, sizeof(sh));
	shell_printf(&sh, "dropped\n");
	CHECK(shell_is_admin(&sh)); /* not remote: the serial console */
	sh.remote = 1;
	CHECK(!shell_is_admin(&sh));
	sh.admin = 1;
	CHECK(shell_is_admin(&sh));
}

static void test_give_back(void)
{
	fresh();
	sh.input_hook = hook;
	sh.end_hook = end_hook;
	ended_calls = 0;
	shell_give_back(&sh);
	CHECK(sh.input_hook == 0 && sh.end_hook == 0);
	CHECK_EQ(ended_calls, 0);
	CHECK_STREQ(out, SHELL_PROMPT);
	type("zzecho back\r");
	CHECK_EQ(seen_argc, 2);
}

static void test_random_garbage(void)
{
	fresh();
	unsigned prompts = 0;
	for (int i = 0; i < 100 * 1024; i++) {
		unsigned char c = (unsigned char)check_rand();
		if (!(check_rand() % 40))
			c = '\r';
		shell_feed(&sh, c);
		if (out_len > sizeof(out) / 2) {
			prompts += count(out, SHELL_PROMPT);
			out_len = 0;
			out[0] = 0;
		}
	}
	prompts += count(out, SHELL_PROMPT);
	CHECK(prompts > 1000);
	/* Still usable afterwards. */
	type("\x15\r");
	type("zzecho after\r");
	CHECK_EQ(seen_argc, 2);
	CHECK_STREQ(seen_argv[1], "after");
}

/* ---- input for a running command: shell_read_line, shell_interrupted ---- */
static const char *pending; /* what the terminal will deliver */
static int waits, gone, ctrl_c;

static int fake_getc(void *ctx)
{
	(void)ctx;
	if (*pending)
		return (unsigned char)*pending++;
	return gone ? SHELL_GONE : SHELL_NO_INPUT;
}

static int fake_interrupted(void *ctx)
{
	(void)ctx;
	return ctrl_c;
}

static void fake_wait(void)
{
	waits++;
	if (waits > 100)
		gone = 1; /* the terminal left while the command waited */
}

static char answer[16];
static int answer_len, seen_interrupted;
static struct shell *seen_current;

static int cmd_zzask(struct shell *s, int argc, char **argv)
{
	(void)argc, (void)argv;
	seen_current = shell_current();
	seen_interrupted = shell_interrupted();
	shell_printf(s, "sure? ");
	answer_len = shell_read_line(s, answer, sizeof(answer), 1, fake_wait);
	return 0;
}
SHELL_COMMAND(zzask, "zzask", "", "asks a question", cmd_zzask);

static void ask(const char *line, const char *typed_later)
{
	fresh();
	shell_set_input(&sh, fake_getc, fake_interrupted);
	pending = typed_later, waits = gone = ctrl_c = 0;
	answer[0] = 0, answer_len = -2;
	type(line);
}

static void test_read_line(void)
{
	ask("zzask\r", "\nyes\r\nnext\r");
	CHECK_EQ(answer_len, 3); /* the LF of the command's CR LF is skipped */
	CHECK_STREQ(answer, "yes");
	CHECK(strstr(out, "sure? yes\n") != 0);
	CHECK(seen_current == &sh);
	CHECK(shell_current() == 0);
	CHECK_STREQ(pending, "\nnext\r"); /* the rest stays for the shell */
	CHECK_EQ(sh.ed.last_cr, 1);

	ask("zzask\n", "nx\bo\r");
	CHECK_STREQ(answer, "no");
	CHECK(strstr(out, "nx\b \bo\n") != 0);

	ask("zzask\r", "ye\x03s\r");
	CHECK_EQ(answer_len, -1); /* Ctrl-C */

	ask("zzask\r", "ye");
	CHECK_EQ(answer_len, -1); /* the terminal went away */
	CHECK(waits > 100);

	ask("zzask\r", "0123456789012345678901234567890\r");
	CHECK_EQ(answer_len, 15); /* kept to the buffer */
	CHECK_EQ(strlen(answer), 15);

	fresh(); /* a shell without input reads nothing */
	pending = "yes\r";
	type("zzask\r");
	CHECK_EQ(answer_len, -1);
	CHECK_EQ(seen_interrupted, 0);
}

static void test_interrupted(void)
{
	ask("zzask\r", "\r");
	CHECK_EQ(seen_interrupted, 0);
	fresh();
	shell_set_input(&sh, fake_getc, fake_interrupted);
	pending = "\r", ctrl_c = 1;
	type("zzask\r");
	CHECK_EQ(seen_interrupted, 1);
	CHECK_EQ(shell_interrupted(), 0); /* no command runs */
}

/* ---- commands that finish later: shell_pend, shell_finish, typing ahead ---- */
static int interrupts, detaches, finish_at_once, interrupt_finishes;
static struct shell *later_sh;

static void later_interrupt(struct shell *s, void *ctx)
{
	(void)ctx;
	interrupts++;
	if (interrupt_finishes) {
		shell_error(s, "interrupted");
		shell_finish(s);
	}
}

static void later_detach(struct shell *s, void *ctx)
{
	(void)s, (void)ctx;
	detaches++;
	later_sh = 0;
}

static const struct shell_pending_ops later_ops = { later_interrupt, later_detach };

static int cmd_zzlater(struct shell *s, int argc, char **argv)
{
	(void)argc, (void)argv;
	later_sh = s;
	int rc = shell_pend(s, &later_ops, 0);
	if (finish_at_once) {
		shell_printf(s, "at once\n");
		shell_finish(s);
	}
	return rc;
}
SHELL_COMMAND(zzlater, "zzlater", "", "finishes later", cmd_zzlater);

/* The work of zzlater ends: its result, then the prompt. */
static void later_ends(const char *result)
{
	out_len = 0;
	out[0] = 0;
	shell_printf(later_sh, "%s\n", result);
	shell_finish(later_sh);
}

static void later_fresh(void)
{
	fresh();
	interrupts = detaches = finish_at_once = interrupt_finishes = 0;
	later_sh = 0;
}

static void test_pending_prompt_after_result(void)
{
	later_fresh();
	type("zzlater\r");
	CHECK_STREQ(out, "zzlater\r\n"); /* no prompt yet */
	CHECK(shell_pending(&sh));
	type("zzecho a\r"); /* typed ahead: neither echoed nor run */
	CHECK_EQ(seen_argc, -1);
	CHECK_EQ(out_len, 0);
	later_ends("done");
	CHECK_STREQ(out, "done\n" SHELL_PROMPT);
	CHECK(!shell_pending(&sh));
	CHECK_EQ(seen_argc, -1); /* the owner runs it, from where commands may run */
	out_len = 0;
	CHECK_EQ(shell_resume(&sh), 1);
	CHECK_EQ(seen_argc, 2);
	CHECK_STREQ(out, "zzecho a\r\n[a]\n" SHELL_PROMPT);
	CHECK_EQ(shell_resume(&sh), 0);
	shell_finish(&sh); /* nothing pending: no second prompt */
	CHECK_STREQ(out, "zzecho a\r\n[a]\n" SHELL_PROMPT);
}

static void test_pending_finished_at_once(void)
{
	later_fresh();
	finish_at_once = 1;
	type("zzlater\r");
	CHECK_STREQ(out, "zzlater\r\nat once\n" SHELL_PROMPT); /* one prompt */
	CHECK(!shell_pending(&sh));
}

static void test_pending_ctrl_c(void)
{
	later_fresh();
	type("zzlater\r");
	type("zzecho lost\r\x03");
	CHECK_EQ(interrupts, 1);
	CHECK(shell_pending(&sh)); /* the work is stopping; it has not ended yet */
	type("\x03\x03");
	CHECK_EQ(interrupts, 1); /* told once */
	later_ends("error: start interrupted");
	CHECK_STREQ(out, "error: start interrupted\n" SHELL_PROMPT);
	CHECK_EQ(shell_resume(&sh), 0); /* what was typed before the Ctrl-C went with it */
	CHECK_EQ(seen_argc, -1);

	later_fresh();
	interrupt_finishes = 1;
	type("zzlater\r");
	type("\x03");
	CHECK_STREQ(out, "error: interrupted\n" SHELL_PROMPT);
	type("zzecho b\r");
	CHECK_EQ(seen_argc, 2);
}

static void test_pending_detach(void)
{
	later_fresh();
	type("zzlater\rzzecho x\r");
	shell_detach(&sh);
	CHECK_EQ(detaches, 1);
	CHECK(!shell_pending(&sh));
	CHECK_EQ(shell_resume(&sh), 0); /* nobody is there to type */
	CHECK_EQ(seen_argc, -1);
	shell_detach(&sh);
	CHECK_EQ(detaches, 1);
}

static void test_pending_typing_ahead(void)
{
	later_fresh();
	type("zzlater\r");
	for (int i = 0; i < 3 * SHELL_AHEAD; i++)
		shell_feed(&sh, 'q'); /* more than is kept */
	CHECK_EQ(sh.ahead_len, SHELL_AHEAD);
	later_ends("done");
	shell_resume(&sh);
	type("\x15zzecho c\r"); /* Ctrl-U clears the q's */
	CHECK_EQ(seen_argc, 2);
	CHECK_STREQ(seen_argv[1], "c");

	/* A command run from the typed-ahead input reads its answer from there too. */
	later_fresh();
	shell_set_input(&sh, fake_getc, fake_interrupted);
	pending = "", waits = gone = ctrl_c = 0;
	answer[0] = 0, answer_len = -2;
	type("zzlater\r");
	type("zzask\ryes\rzzecho d\r");
	later_ends("done");
	shell_resume(&sh);
	CHECK_EQ(answer_len, 3);
	CHECK_STREQ(answer, "yes");
	CHECK_EQ(seen_argc, 2);
	CHECK_STREQ(seen_argv[1], "d");
	CHECK(ends_with_prompt());
}

int main(void)
{
	RUN(test_dispatch);
	RUN(test_errors);
	RUN(test_too_long_and_cancel);
	RUN(test_help);
	RUN(test_input_hook);
	RUN(test_end_and_refs);
	RUN(test_give_back);
	RUN(test_random_garbage);
	RUN(test_read_line);
	RUN(test_interrupted);
	RUN(test_pending_prompt_after_result);
	RUN(test_pending_finished_at_once);
	RUN(test_pending_ctrl_c);
	RUN(test_pending_detach);
	RUN(test_pending_typing_ahead);
	return check_done();
}
