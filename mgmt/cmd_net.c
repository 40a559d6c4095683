/*
 * mgmt/cmd_net.c - shell verbs about the network: `net` (interfaces,
 * addresses, link, and the switch's ports with their counters) and `pci`
 * (what enumeration found).
 */
#include "drivers/pci/pci.h"
#include "mgmt/cmd_net.h"
#include "mgmt/shell/shell.h"
#include "net/bridge.h"
#include "net/net.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"

/* A port's name in `net` and `stats`: "uplink", "hako" or "GUEST/ethN". */
static void port_name(const struct sw_port *p, char *buf, unsigned len)
{
	if (p->kind == SW_GUEST)
		fmt_snprintf(buf, len, "%s/eth%u", p->owner, p->nic);
	else
		fmt_snprintf(buf, len, "%s", p->kind == SW_UPLINK ? "uplink" : "hako");
}

/* "uplink", "uplink vlan 42", "lan:class", "lan:class vlan 5"; the uplink port is the trunk. */
static void port_segment(const struct sw_port *p, char *buf, unsigned len)
{
	int n = p->kind == SW_UPLINK ? fmt_snprintf(buf, len, "trunk")
		: p->lan[0] ? fmt_snprintf(buf, len, "lan:%s", p->lan) : fmt_snprintf(buf, len, "uplink");
	if (p->vlan && n >= 0 && (unsigned)n < len)
		fmt_snprintf(buf + n, len - n, " vlan %u", p->vlan);
}

static uint64_t port_drops(const struct sw_counters *c)
{
	return c->drop_spoof + c->drop_size + c->drop_tagged + c->drop_vlan + c->drop_full;
}

static void print_switch(struct shell *sh)
{
	unsigned n = 0;
	while (sw_port_at(n))
		n++;
	shell_printf(sh, "switch: %u port%s, %u MAC%s learned on the uplink\n", n, n == 1 ? "" : "s",
		     sw_fdb_count(), sw_fdb_count() == 1 ? "" : "s");
	if (!n)
		return;
	shell_printf(sh, "%-16s %-17s %-20s %10s %12s %10s %12s %8s\n", "PORT", "MAC", "SEGMENT",
		     "IN-PKTS", "IN-BYTES", "OUT-PKTS", "OUT-BYTES", "DROPS");
	for (unsigned i = 0; i < n; i++) {
		const struct sw_port *p = sw_port_at(i);
		char name[48], seg[48], mac[18] = "-";
		port_name(p, name, sizeof(name));
		port_segment(p, seg, sizeof(seg));
		if (p->kind != SW_UPLINK)
			fmt_snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", p->mac[0],
				     p->mac[1], p->mac[2], p->mac[3], p->mac[4], p->mac[5]);
		shell_printf(sh, "%-16s %-17s %-20s %10lu %12lu %10lu %12lu %8lu\n", name, mac, seg,
			     p->c.in_frames, p->c.in_bytes, p->c.out_frames, p->c.out_bytes,
			     port_drops(&p->c));
	}
}

/* See cmd_net.h. */
void cmd_net_guest_stats(struct shell *sh, const char *guest)
{
	for (unsigned i = 0; sw_port_at(i); i++) {
		const struct sw_port *p = sw_port_at(i);
		if (p->kind != SW_GUEST || strcmp(p->owner, guest))
			continue;
		char seg[48];
		const struct sw_counters *c = &p->c;
		const struct virtio_net_stats *d = guest_port_dev_stats(p);
		port_segment(p, seg, sizeof(seg));
		shell_printf(sh, "  nic eth%u %02x:%02x:%02x:%02x:%02x:%02x %s: sent %lu frames %lu bytes, "
			     "received %lu frames %lu bytes\n", p->nic, p->mac[0], p->mac[1], p->mac[2],
			     p->mac[3], p->mac[4], p->mac[5], seg, c->in_frames, c->in_bytes,
			     c->out_frames, c->out_bytes);
		shell_printf(sh, "    dropped: %lu spoofed, %lu oversized or malformed, %lu tagged, %lu no room "
			     "(%lu without receive buffers), %lu bad headers; %lu interrupts\n",
			     c->drop_spoof, c->drop_size, c->drop_tagged, c->drop_full,
			     d ? d->rx_no_buffer : 0, d ? d->tx_bad : 0, d ? d->interrupts : 0);
	}
}

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
		if (n->rx_irqs)
			shell_printf(sh, "  rx interrupts %lu (received frames wake the service core)\n",
				     *n->rx_irqs);
	}
	if (!st.configured) {
		shell_printf(sh, "ipv4: none (%s: %s)\n", st.mode, st.why);
	} else {
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
	}
	print_switch(sh);
	return 0;
}
SHELL_COMMAND(net, "net", "",
	      "network interfaces, MAC, addresses, link state; the switch's ports and their counters",
	      cmd_net);

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
