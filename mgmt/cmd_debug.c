/*
 * mgmt/cmd_debug.c - `debug NAME [PORT]` and `debug NAME off`: a GDB
 * remote-protocol server for a running guest (mgmt/gdb/gdb.h). The
 * protocol has no authentication, so only the address of the network
 * console session that asked may connect (anyone for the serial
 * console), and the server closes when that session ends.
 */
#include "mgmt/gdb/gdb.h"
#include "mgmt/shell/shell.h"
#include "net/net.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"
#include "vmm/vm.h"

static int debug_off(struct shell *sh, struct vm *vm)
{
	if (gdb_server_close(vm))
		return shell_error(sh, "guest '%s' has no debug server", vm->def.name);
	shell_printf(sh, "debug server of %s closed; the guest runs on\n", vm->def.name);
	return 0;
}

static int debug_on(struct shell *sh, struct vm *vm, const char *port_word)
{
	uint64_t port = 0;
	char err[160], ip[16], who[40];
	struct net_status st;
	if (port_word && fmt_parse_uint(port_word, 1, 65535, &port))
		return shell_error(sh, "bad PORT '%s': a TCP port from 1 to 65535", port_word);
	if (vm->state != VM_RUNNING)
		return shell_error(sh, "guest '%s' is not running", vm->def.name);
	net_get_status(&st);
	if (!st.configured)
		return shell_error(sh, "the management network has no address (`net` says why); a "
				   "debugger connects over it");
	uint16_t got;
	uint32_t allowed = sh->remote ? sh->peer_ip : 0;
	if (gdb_server_open(vm, (uint16_t)port, allowed, sh, &got, err, sizeof(err)))
		return shell_error(sh, "%s", err);
	net_ip_str(st.ip, ip, sizeof(ip));
	if (allowed) {
		char a[16];
		net_ip_str(__builtin_bswap32(allowed), a, sizeof(a));
		fmt_snprintf(who, sizeof(who), "only %s may connect", a);
	} else {
		fmt_snprintf(who, sizeof(who), "any address may connect");
	}
	shell_printf(sh, "debug server of %s on port %u (%s; it closes when this session ends)\n"
		     "(gdb) target remote %s:%u\n", vm->def.name, got, who, ip, got);
	return 0;
}

static int cmd_debug(struct shell *sh, int argc, char **argv)
{
	if (argc < 2 || argc > 3)
		return shell_usage(sh, "debug");
	struct vm *vm = vm_find(argv[1]);
	if (!vm)
		return shell_error(sh, "unknown guest '%s'; `list` shows the defined ones", argv[1]);
	if (argc == 3 && !strcmp(argv[2], "off"))
		return debug_off(sh, vm);
	return debug_on(sh, vm, argc == 3 ? argv[2] : 0);
}
SHELL_COMMAND(debug, "debug", "NAME [PORT]|off",
	      "a GDB remote-protocol server for a running guest (gdb: target remote HOST:PORT)",
	      cmd_debug);
