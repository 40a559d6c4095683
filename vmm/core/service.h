/*
 * vmm/core/service.h - the service core's loop: core 0 runs every
 * registered poller (serial and network consoles, the network stack,
 * storage, guest reaping) in turn, and halts between timer ticks when
 * none of them has work. Other cores hand it work with service_wake().
 */
#ifndef HAKO_SERVICE_H
#define HAKO_SERVICE_H

#include <stdint.h>

/*
 * Work the service core does between shell bytes (network, storage,
 * timers). Register with SERVICE_POLLER(ident, fn); see linker.ld. `poll`
 * returns nonzero when it did something or waits on I/O in flight: the
 * service core keeps polling then, and halts between timer ticks once
 * every poller has been quiet for a while.
 */
struct service_poller {
	const char *name;
	int (*poll)(void);
};
#define SERVICE_POLLER(ident, fn)                                              \
	static const struct service_poller service_poller_##ident                      \
		__attribute__((used, section("hako_pollers"), aligned(8))) = { #ident, fn }

/* The service core's loop (kmain's last call): polls, then halts when idle. Never returns. */
void service_loop(void) __attribute__((noreturn));
/* Runs every registered poller once; nonzero when any of them was busy. */
int service_poll(void);
/* Another core queued work for the service core: wakes it if it halts. */
void service_wake(void);
/* Time (us) the service core spent halted since service_loop() began at *since_us. */
void service_halted_share(uint64_t *since_us, uint64_t *halted_us);

/*
 * Shell commands wait by calling service_poll(), so pollers run nested.
 * A poller that feeds a terminal (serial, network console) may start a
 * command only where service_commands_allowed() says so: from the main
 * loop, or directly inside a running command's wait, never inside some
 * other poller's wait (a guest reset opening its disks), which is not
 * written to have commands run under it. Bracket each command with
 * service_command_begin()/end().
 */
int service_commands_allowed(void);
int service_command_begin(void);
void service_command_end(int saved);

#endif
