/*
 * vmm/core/lib/log.h - the hypervisor's log: a ring buffer that the shell's
 * `log` verb prints, mirrored to a sink (the serial port).
 */
#ifndef HAKO_LOG_H
#define HAKO_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DBG };

#define LOG_RING_SIZE (64 * 1024)

/* Where log lines go besides the ring, and where timestamps come from. */
void log_set_sink(void (*sink)(const char *s, size_t n));
void log_set_clock(uint64_t (*now_us)(void));
void log_set_level(enum log_level max_shown);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_dbg(...) log_msg(LOG_DBG, __VA_ARGS__)

/*
 * Rate limiting for messages a guest or a packet can trigger: at most
 * `burst` messages per `LOG_RATE_WINDOW_US`; the rest are counted and
 * reported by the next message that gets through.
 */
#define LOG_RATE_WINDOW_US 1000000ull
struct log_ratelimit {
	uint64_t window_start;
	uint32_t count, suppressed, burst;
};
#define LOG_RATELIMIT_INIT(b) { 0, 0, 0, (b) }
int log_ratelimit_ok(struct log_ratelimit *rl);

/* A warning a guest or a packet can trigger: at most 5 a second per call site. */
#define LOG_WARN_RL(...)                                                        \
	do {                                                                    \
		static struct log_ratelimit rl_ = LOG_RATELIMIT_INIT(5);        \
		if (log_ratelimit_ok(&rl_))                                     \
			log_warn(__VA_ARGS__);                                  \
	} while (0)

/*
 * Calls `fn` with consecutive pieces of the ring's contents, oldest first.
 * The pieces together are whole lines.
 */
void log_ring_walk(void (*fn)(void *ctx, const char *s, size_t n), void *ctx);

#endif
