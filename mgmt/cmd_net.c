/*
 * mgmt/cmd_net.c - shell verbs about the network: `net` (interfaces,
 * addresses, link) and `pci` (what enumeration found).
 */
#include "drivers/pci/pci.h"
#include "mgmt/shell/shell.h"
#include "net/net.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"

static int cmd_net(struct shell *sh, int argc, char **argv)
{
	(void)argv; /* no arguments */
	if (argc != 1)
		return shell_usage(sh, "net");
	struct net_status st;
	net_get_status(&st);
	for (unsigned i = 0; i < nic_count; i++) {
		const struct nic *n = &nics[i];
		char addr[16];
		pci_addr_str(n->pci, addr, sizeof(addr));
		shell_printf(sh, "nic%u: %s at %s mac %02x:%02x:%02x:%02x:%02x:%02x link %s%s\n", i,
			     n->model, addr, n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4],
			     n->mac[5], n->ops->link_up((struct nic *)n) ? "up" : "down",
			     n == st.nic ? " (management)" : "");
		shell_printf(sh, "  rx %lu frames (%lu dropped), tx %lu frames (%lu dropped)\n",
			     n->rx_frames, n->rx_dropped, n->tx_frames, n->tx_dropped);
	}
	if (!st.configured) {
		shell_printf(sh, "ipv4: none (%s: %s)\n", st.mode, st.why);
		return 0;
	}
	char ip[16], mask[16], gw[16];
	net_ip_str(st.ip, ip, sizeof(ip));
	net_ip_str(st.mask, mask, sizeof(mask));
	net_ip_str(st.gw, gw, sizeof(gw));
	shell_printf(sh, "ipv4: %s netmask %s gateway %s (%s)\n", ip, mask, gw, st.mode);
	if (st.dns) {
		char dns[16];
		net_ip_str(st.dns, dns, sizeof(dns));
		shell_printf(sh, "dns: %s (%s)\n", dns, st.dns_from);
	} else {
		shell_printf(sh, "dns: none (host names in URLs do not resolve; set dns= in hako.cfg)\n");
	}
	return 0;
}
SHELL_COMMAND(net, "net", "", "network interfaces, MAC, addresses, link state", cmd_net);

static int cmd_pci(struct shell *sh, int argc, char **argv)
{
	(void)argv; /* no arguments */
	if (argc != 1)
		return shell_usage(sh, "pci");
	for (unsigned i = 0; i < pci_count; i++) {
		const struct pci_dev *d = &pci_devs[i];
		char addr[16];
		pci_addr_str(d, addr, sizeof(addr));
		shell_printf(sh, "%s %04x:%04x class %02x%02x%02x%s%s%s%s\n", addr, d->vendor,
			     d->device, d->class_code, d->subclass, d->prog_if,
			     d->msi_cap ? " msi" : "", d->msix_cap ? " msi-x" : "",
			     d->driver ? " driver " : "", d->driver ? d->driver : "");
	}
	return 0;
}
SHELL_COMMAND(pci, "pci", "", "PCI functions found at boot", cmd_pci);

static int cmd_netsrc(struct shell *sh, int argc, char **argv)
{
	uint64_t port, size;
	if (argc != 3 || fmt_parse_uint(argv[1], 1, 65535, &port) ||
	    fmt_parse_size(argv[2], &size) || !size)
		return shell_usage(sh, "netsrc");
	struct net_status st;
	net_get_status(&st);
	if (!st.configured)
		return shell_error(sh, "the network is not up (%s)", st.why);
	int err = netsrc_start((uint16_t)port, size);
	if (err == -EBUSY)
		return shell_error(sh, "a netsrc transfer is already waiting or running");
	if (err)
		return shell_error(sh, "cannot listen on TCP port %lu (%s)", port, errno_str(err));
	shell_printf(sh, "netsrc: port %lu will send %lu bytes to the first client\n", port, size);
	return 0;
}
SHELL_COMMAND(netsrc, "netsrc", "PORT SIZE", "benchmark: send SIZE bytes to one TCP client",
	      cmd_netsrc);
