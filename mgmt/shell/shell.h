/*
 * mgmt/shell/shell.h - the management shell (contract: shared/CLI.md).
 *
 * A shell session is fed bytes and writes text through a callback, so the
 * same code serves the serial console and network sessions. Commands
 * register themselves with SHELL_COMMAND() into the `hako_cmds` linker
 * section (see linker.ld); a command only parses and prints, and calls an
 * ordinary function for the work.
 */
#ifndef HAKO_SHELL_H
#define HAKO_SHELL_H

#include <stddef.h>
#include <stdint.h>

#include "mgmt/shell/line.h"

#define SHELL_PROMPT "hako> "
#define SHELL_AHEAD 256 /* bytes typed ahead while a command finishes later */

struct shell_pending_ops;

struct shell {
	struct line_editor ed;
	void (*write)(void *ctx, const char *s, size_t n);
	void *ctx;
	int closed; /* set by a command that ends a network session */
	int remote; /* a network console session (its console sets it); 0: serial */
	int admin;  /* a network session of an administrator (the serial console is one anyway) */
	/*
	 * Which session this is: shell_init() gives every session a new id
	 * (never 0) and shell_end() clears it, so a struct shell_ref taken
	 * earlier no longer matches once the session ended, even when its
	 * memory (a network console slot) serves another client by then.
	 */
	uint64_t id;
	/*
	 * While set, input bytes go here instead of the line editor (a
	 * command that keeps the terminal, like `console`). It returns
	 * nonzero when it gives the terminal back; the shell then prompts.
	 */
	int (*input_hook)(struct shell *sh, unsigned char c);
	/*
	 * Set with input_hook by a command that holds something for this
	 * terminal (an attached guest console): shell_end() calls it when the
	 * terminal goes away, so the command lets go of it.
	 */
	void (*end_hook)(struct shell *sh);
	/*
	 * Input for a command that is running (shell_set_input()): getc
	 * returns the next byte, SHELL_NO_INPUT when none arrived yet or
	 * SHELL_GONE when the terminal went away; interrupted returns 1 once
	 * for a Ctrl-C typed since the command started, keeping other input.
	 */
	int (*getc)(void *ctx);
	int (*interrupted)(void *ctx);
	/*
	 * A command that finishes later (shell_pend): its hooks, and the
	 * input typed meanwhile, run once it finished (shell_resume).
	 */
	const struct shell_pending_ops *pending;
	void *pending_ctx;
	int interrupting;
	int executing; /* inside a command's run */
	unsigned char ahead[SHELL_AHEAD];
	size_t ahead_len;
};

/*
 * What the shell asks of a command that finishes later. Both run on the
 * service core.
 */
struct shell_pending_ops {
	/* Ctrl-C: stop the work; it still ends with shell_finish() (now or later). */
	void (*interrupt)(struct shell *sh, void *ctx);
	/* The terminal is gone (a network session ended): never touch sh again. */
	void (*detach)(struct shell *sh, void *ctx);
};

#define SHELL_NO_INPUT (-1)
#define SHELL_GONE (-2)

struct shell_cmd {
	const char *name;
	const char *usage;   /* arguments, e.g. "NAME KEY=VALUE..." */
	const char *summary; /* one line */
	int (*run)(struct shell *sh, int argc, char **argv);
};

#define SHELL_COMMAND(ident, ...)                                              \
	static const struct shell_cmd shell_cmd_##ident                        \
		__attribute__((used, section("hako_cmds"), aligned(8))) = { __VA_ARGS__ }

void shell_init(struct shell *sh, void (*write)(void *, const char *, size_t), void *ctx);
/*
 * The terminal behind `sh` is gone (a network session ended): calls its
 * end_hook, drops its input hooks and invalidates every shell_ref to it.
 * The owner calls it before the memory serves another session.
 */
void shell_end(struct shell *sh);
/* Ends a command's hold on the terminal from outside (taken over): drops the hooks, prompts. */
void shell_give_back(struct shell *sh);

/*
 * A reference to a session that may end: code that outlives a command
 * (an attached guest console) keeps this rather than a bare pointer.
 * The memory behind a shell is never freed (the serial shell is static,
 * network sessions live in slots allocated once), so checking the id
 * through the pointer is safe.
 */
struct shell_ref {
	struct shell *sh;
	uint64_t id;
};
struct shell_ref shell_ref(struct shell *sh);
/* The session `r` names, or 0 once it ended. */
struct shell *shell_deref(struct shell_ref r);
/* The serial console and administrators' network sessions. */
int shell_is_admin(const struct shell *sh);
/* Where a running command reads its terminal (see struct shell). */
void shell_set_input(struct shell *sh, int (*getc)(void *ctx), int (*interrupted)(void *ctx));
/*
 * The shell whose command is running (0 when none): waiting code asks it
 * for Ctrl-C with shell_interrupted() without knowing which terminal it is.
 */
struct shell *shell_current(void);
/* 1 after a Ctrl-C on the running command's terminal. */
int shell_interrupted(void);
/*
 * Reads a line for a running command (a confirmation), echoing it when
 * `echo`; `wait` runs between polls (service work). Returns its length,
 * or -1 for Ctrl-C or a terminal that went away.
 */
int shell_read_line(struct shell *sh, char *buf, size_t cap, int echo, void (*wait)(void));
/*
 * A command whose work ends later, without waiting here (a guest start
 * opening its disks over the network), returns shell_pend(): the shell
 * prints no prompt, keeps input typed meanwhile (up to SHELL_AHEAD bytes)
 * and passes a Ctrl-C to ops->interrupt. The work prints its result, then
 * calls shell_finish(), on the service core but never from inside an lwIP
 * callback. Returns SHELL_PENDING for the command's `return`.
 */
#define SHELL_PENDING 1
int shell_pend(struct shell *sh, const struct shell_pending_ops *ops, void *ctx);
/* The pending command printed its result: the prompt follows. */
void shell_finish(struct shell *sh);
/* 1 while a command of sh finishes later. */
int shell_pending(const struct shell *sh);
/* Ctrl-C for the pending command (a terminal that reads it itself). */
void shell_interrupt(struct shell *sh);
/*
 * Runs what was typed while a command was pending, once none is: the
 * terminal's owner calls it where it may start commands (service.h).
 * Returns 1 when it fed anything.
 */
int shell_resume(struct shell *sh);
/* The terminal went away: a pending command is told and forgotten. */
void shell_detach(struct shell *sh);
/* Prints the prompt. */
void shell_prompt(struct shell *sh);
/*
 * Feeds one input byte; runs a command when a line is complete. While a
 * command is pending the byte is kept for shell_resume() (Ctrl-C
 * interrupts the command and drops what was typed ahead of it).
 */
void shell_feed(struct shell *sh, unsigned char c);
/* Runs one line as a command (the line is modified). */
int shell_execute(struct shell *sh, char *line);

void shell_printf(struct shell *sh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void shell_write(struct shell *sh, const char *s, size_t n);
/* Prints one "error: ..." line. Returns -1 for `return shell_error(...)`. */
int shell_error(struct shell *sh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "usage: VERB USAGE" for a command; returns -1. */
int shell_usage(struct shell *sh, const char *verb);

const struct shell_cmd *shell_find(const char *name);

#endif
