/*
 * vmm/core/lib/log.c - log ring buffer. Portable; the kernel gives it a sink
 * (serial) and a clock (TSC-based microseconds).
 */
#include "vmm/core/lib/log.h"

#include <stdarg.h>

#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/spinlock.h"

static char ring[LOG_RING_SIZE];
static size_t ring_head; /* total bytes ever written; index = head % size */
static struct spinlock log_lock;
static void (*log_sink)(const char *s, size_t n);
static uint64_t (*log_clock)(void);
static enum log_level log_shown = LOG_INFO;

void log_set_sink(void (*sink)(const char *s, size_t n)) { log_sink = sink; }
void log_set_clock(uint64_t (*now_us)(void)) { log_clock = now_us; }
void log_set_level(enum log_level max_shown) { log_shown = max_shown; }

static void ring_put(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ring[(ring_head + i) % LOG_RING_SIZE] = s[i];
	ring_head += n;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *const tag[] = { "error: ", "warning: ", "", "debug: " };
	char line[512];
	uint64_t us = log_clock ? log_clock() : 0;
	int n = fmt_snprintf(line, sizeof(line), "[%5u.%06u] %s",
			     (unsigned)(us / 1000000), (unsigned)(us % 1000000),
			     tag[lvl]);
	va_list ap;
	va_start(ap, fmt);
	n += fmt_vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';

	uint64_t flags = irq_save();
	spin_lock(&log_lock);
	ring_put(line, n);
	spin_unlock(&log_lock);
	irq_restore(flags);
	if (log_sink && lvl <= log_shown)
		log_sink(line, n);
}

int log_ratelimit_ok(struct log_ratelimit *rl)
{
	uint64_t now = log_clock ? log_clock() : 0;
	if (now - rl->window_start >= LOG_RATE_WINDOW_US) {
		if (rl->suppressed)
			log_warn("(%u similar messages suppressed)", rl->suppressed);
		rl->window_start = now;
		rl->count = 0;
		rl->suppressed = 0;
	}
	if (rl->count < rl->burst) {
		rl->count++;
		return 1;
	}
	rl->suppressed++;
	return 0;
}

void log_ring_walk(void (*fn)(void *ctx, const char *s, size_t n), void *ctx)
{
	size_t start = ring_head > LOG_RING_SIZE ? ring_head - LOG_RING_SIZE : 0;
	size_t pos = start;

	/* When the ring has wrapped, skip the partial line at its start. */
	if (start) {
		while (pos < ring_head && ring[pos % LOG_RING_SIZE] != '\n')
			pos++;
		pos++;
	}
	while (pos < ring_head) {
		size_t idx = pos % LOG_RING_SIZE;
		size_t len = LOG_RING_SIZE - idx;
		if (len > ring_head - pos)
			len = ring_head - pos;
		fn(ctx, &ring[idx], len);
		pos += len;
	}
}
