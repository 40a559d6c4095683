/*
 * vmm/core/host.h - what hako learned about the machine at boot, and the
 * service core's polling loop.
 */
#ifndef HAKO_HOST_H
#define HAKO_HOST_H

#include <stdint.h>

#include "vmm/core/bootinfo.h"
#include "drivers/acpi/acpi.h"
#include "mgmt/cfg.h"
#include "vmm/virt.h"

#define HAKO_VERSION "0.1.0"

struct host {
	const struct boot_info *bi;
	struct acpi_info acpi;
	struct virt_caps virt;
	struct cfg cfg;
	uint64_t prompt_us; /* kernel entry to first prompt */
};
extern struct host host;

/*
 * Work the service core does between shell bytes (network, storage,
 * timers). Register with SERVICE_POLLER(fn); see linker.ld. `poll`
 * returns nonzero when it did something or waits on I/O in flight: the
 * service core keeps polling then, and halts between timer ticks once
 * every poller has been quiet for a while (boot/main.c).
 */
struct service_poller {
	const char *name;
	int (*poll)(void);
};
#define SERVICE_POLLER(ident, fn)                                              \
	static const struct service_poller service_poller_##ident                      \
		__attribute__((used, section("hako_pollers"), aligned(8))) = { #ident, fn }

/* Runs every registered poller once; nonzero when any of them was busy. */
int service_poll(void);
/* Another core queued work for the service core: wakes it if it halts. */
void service_wake(void);
/* Time (us) the service core spent halted since the prompt came up at *since_us. */
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

/* A file from the boot medium's \hako\ folder (names compare case-blind). */
const struct boot_file *bootfs_find(const char *name);

#endif
