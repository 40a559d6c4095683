/*
 * net/netif.c - hako's own network interface (lwIP) as a port of the
 * switch, and the network's start-up from hako.cfg.
 *
 * On its first call the network poller enumerates PCI, probes the NICs,
 * picks one (hako.cfg `nic=` as a PCI address BB:DD.F or a MAC, else the
 * first whose link is up, else the first), makes it the switch's uplink
 * (net/bridge.c), puts lwIP's interface on the switch with the NIC's MAC,
 * and starts DHCP (`net=dhcp`, the default) or sets `ip=`/`gw=`
 * (`net=static`). After that each call follows the link state and runs
 * lwIP's timers; the switch's round delivers hako's frames (hako_send).
 * Frames lwIP sends go into the switch at once (linkoutput) and reach the
 * NIC with one flush per burst (net_tx_hold). Host names (iSCSI URLs) are
 * looked up by lwIP's DNS client at the server the DHCP lease names, or
 * at hako.cfg's `dns=`, which wins: DHCP writes its server again at every
 * renewal, so the poll puts `dns=` back.
 */
#include "net/net.h"

#include "drivers/pci/pci.h"
#include "net/bridge.h"
#include "lwip/dhcp.h"
#include "lwip/dns.h"
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/page.h"
#include "vmm/core/service.h"
#include "vmm/core/time.h"

unsigned char *hako_lwip_heap; /* lwIP's MEM_SIZE heap (lwipopts.h) */
static struct netif mgmt_netif;
static struct nic *mgmt_nic;
static const char *net_mode = "dhcp";
static char net_why[96] = "network not started yet";
static int net_started, last_link, tx_holds, in_stack;
static const struct net_config *conf;
static ip_addr_t dns_override; /* hako.cfg dns=, when given */
static int has_dns_override;
static struct sw_port hako_port;

/*
 * lwIP sends a frame: it enters the switch as it is, a piece per pbuf (a
 * TCP segment is a header pbuf and data pbufs), and is copied once, into
 * the NIC's ring or a guest's. A frame the switch dropped (a full ring)
 * is not reported: TCP retransmits, as for a frame lost on the wire.
 */
static err_t linkoutput(struct netif *nif, struct pbuf *p)
{
	static uint8_t flat[NIC_FRAME_MAX];
	struct sw_frame f = { .len = p->tot_len, .from_hako = 1 };
	(void)nif; /* one interface */
	for (struct pbuf *q = p; q && f.niov < SW_IOV_IN_MAX; q = q->next)
		if (q->len)
			f.iov[f.niov++] = (struct iov){ q->payload, q->len };
	if (pbuf_clen(p) > SW_IOV_IN_MAX) {     /* too many pieces: flatten it */
		if (p->tot_len > sizeof(flat))
			return ERR_VAL;
		pbuf_copy_partial(p, flat, p->tot_len, 0);
		f.iov[0] = (struct iov){ flat, p->tot_len };
		f.niov = 1;
	}
	sw_input(&hako_port, &f, time_us());
	if (!tx_holds)
		sw_flush();
	return ERR_OK;
}

/* The switch delivers a frame to hako: into a pbuf, and into lwIP. */
static int hako_send(struct sw_port *port, const struct sw_frame *f)
{
	(void)port; /* one interface */
	struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)f->len, PBUF_POOL);
	if (!p)
		return -ENOBUFS;
	uint32_t off = 0;
	for (unsigned i = 0; i < f->niov && off < f->len; i++) {
		uint32_t k = f->iov[i].len < f->len - off ? f->iov[i].len : f->len - off;
		pbuf_take_at(p, f->iov[i].base, (u16_t)k, (u16_t)off);
		off += k;
	}
	int nested = in_stack;
	in_stack = 1;
	if (mgmt_netif.input(p, &mgmt_netif) != ERR_OK)
		pbuf_free(p);
	in_stack = nested;
	return 0;
}

static int hako_flush(struct sw_port *port)
{
	(void)port; /* lwIP took each frame at once */
	return 0;
}

static const struct sw_port_ops hako_ops = { 0, 0, hako_send, hako_flush, 0, 0 };

/* hako's interface joins the switch on the uplink's untagged segment. */
static void hako_port_add(struct nic *n)
{
	char err[96];
	hako_port = (struct sw_port){ .ops = &hako_ops, .kind = SW_HAKO };
	memcpy(hako_port.mac, n->mac, 6);
	if (sw_port_add(&hako_port, err, sizeof(err)))
		log_err("net: hako's interface cannot join the switch: %s", err);
}

static err_t hako_netif_init(struct netif *nif)
{
	struct nic *n = nif->state;
	nif->name[0] = 'e', nif->name[1] = 'n';
	nif->output = etharp_output;
	nif->linkoutput = linkoutput;
	nif->mtu = NIC_MTU;
	nif->hwaddr_len = 6;
	memcpy(nif->hwaddr, n->mac, 6);
	nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
	return ERR_OK;
}

static struct nic *pick_configured(const char *want)
{
	uint8_t mac[6];
	int by_mac = !fmt_parse_mac(want, mac);
	for (unsigned i = 0; i < nic_count; i++) {
		char addr[16];
		pci_addr_str(nics[i].pci, addr, sizeof(addr));
		if (by_mac ? !memcmp(mac, nics[i].mac, 6) : !strcmp(want, addr))
			return &nics[i];
	}
	return 0;
}

/* hako.cfg's nic=, else the first NIC with link (waiting up to 2 s for
 * autonegotiation), else the first NIC. */
static struct nic *pick_nic(void)
{
	const char *want = conf->nic;
	if (want) {
		struct nic *n = pick_configured(want);
		if (!n)
			log_warn("net: hako.cfg nic=%s matches no NIC (give BB:DD.F or a MAC); "
				 "using the first with link", want);
		else
			return n;
	}
	uint64_t until = time_us() + 2000000;
	do {
		for (unsigned i = 0; i < nic_count; i++)
			if (nics[i].ops->link_up(&nics[i]))
				return &nics[i];
		delay_us(10000);
	} while (time_us() < until);
	return &nics[0];
}

static int parse_ip(const char *s, ip4_addr_t *out, unsigned *prefix)
{
	unsigned v[4], p = 32;
	const char *c = s;
	for (int i = 0; i < 4; i++) {
		v[i] = 0;
		while (*c >= '0' && *c <= '9')
			v[i] = v[i] * 10 + (unsigned)(*c++ - '0');
		if (i < 3)
			c++;
	}
	if (prefix && *c == '/') {
		p = 0;
		for (c++; *c >= '0' && *c <= '9'; c++)
			p = p * 10 + (unsigned)(*c - '0');
	}
	IP4_ADDR(out, v[0], v[1], v[2], v[3]);
	if (prefix)
		*prefix = p > 32 ? 32 : p;
	return 0;
}

/* net=static: ip= (A.B.C.D/N, checked by cfg.c) and optional gw=. */
static int config_static(void)
{
	const char *ip = conf->ip, *gw = conf->gw;
	if (!ip) {
		fmt_snprintf(net_why, sizeof(net_why), "net=static needs ip=A.B.C.D/N in hako.cfg");
		return -EINVAL;
	}
	ip4_addr_t a, m, g;
	unsigned prefix;
	parse_ip(ip, &a, &prefix);
	ip4_addr_set_u32(&m, prefix ? lwip_htonl(0xffffffffu << (32 - prefix)) : 0);
	ip4_addr_set_zero(&g);
	if (gw)
		parse_ip(gw, &g, 0);
	netif_set_addr(&mgmt_netif, &a, &m, &g);
	return 0;
}

static void status_changed(struct netif *nif)
{
	char ip[16];
	net_ip_str(ip4_addr_get_u32(netif_ip4_addr(nif)), ip, sizeof(ip));
	if (!ip4_addr_isany_val(*netif_ip4_addr(nif)))
		log_info("net: %s address %s (%s)", mgmt_nic->model, ip, net_mode);
}

static void net_start(void)
{
	/* ip= alone means a static address: nobody writes ip= and wants DHCP */
	net_mode = conf->mode ? conf->mode : conf->ip ? "static" : "dhcp";
	if (!strcmp(net_mode, "off")) {
		fmt_snprintf(net_why, sizeof(net_why), "net=off in hako.cfg");
		return;
	}
	if (!nic_probe_all()) {
		fmt_snprintf(net_why, sizeof(net_why), "no supported NIC (virtio-net, e1000, e1000e)");
		log_warn("net: %s", net_why);
		return;
	}
	mgmt_nic = pick_nic();
	/* lwIP's heap: MEM_SIZE plus its own header and alignment slack
	 * (mem.c MEM_SIZE_ALIGNED + 2 * SIZEOF_STRUCT_MEM). */
	hako_lwip_heap = (unsigned char *)page_alloc_bytes(MEM_SIZE + 4096);
	lwip_init();
	netif_add(&mgmt_netif, IP4_ADDR_ANY4, IP4_ADDR_ANY4, IP4_ADDR_ANY4, mgmt_nic,
		  hako_netif_init, ethernet_input);
	netif_set_default(&mgmt_netif);
	netif_set_hostname(&mgmt_netif, conf->hostname ? conf->hostname : "hako");
	netif_set_status_callback(&mgmt_netif, status_changed);
	netif_set_up(&mgmt_netif);
	if (conf->dns) {
		ip4_addr_t a;
		parse_ip(conf->dns, &a, 0); /* cfg.c checked it */
		ip_addr_copy_from_ip4(dns_override, a);
		has_dns_override = 1;
		dns_setserver(0, &dns_override);
	}
	bridge_set_uplink(mgmt_nic);
	hako_port_add(mgmt_nic);
	last_link = mgmt_nic->ops->link_up(mgmt_nic);
	if (last_link)
		netif_set_link_up(&mgmt_netif);
	fmt_snprintf(net_why, sizeof(net_why), "waiting for a DHCP lease");
	if (!strcmp(net_mode, "static")) {
		if (config_static())
			log_warn("net: %s", net_why);
	} else if (dhcp_start(&mgmt_netif) != ERR_OK) {
		fmt_snprintf(net_why, sizeof(net_why), "DHCP could not start (out of memory)");
	}
	if (conf->started)
		conf->started();
}

/*
 * The link state is a device register read (a trip into the emulator, or
 * across PCIe): looked at every LINK_CHECK_US, not on every round of the
 * service loop, which spins while traffic flows.
 */
#define LINK_CHECK_US 50000

static void check_link(void)
{
	static uint64_t last_check_us;
	uint64_t now = time_us();
	if (now - last_check_us < LINK_CHECK_US)
		return;
	last_check_us = now;
	int link = mgmt_nic->ops->link_up(mgmt_nic);
	if (link != last_link) {
		last_link = link;
		log_info("net: %s link %s", mgmt_nic->model, link ? "up" : "down");
		if (link)
			netif_set_link_up(&mgmt_netif);
		else
			netif_set_link_down(&mgmt_netif);
		bridge_link_changed(link);
	}
}

static int net_poll(void)
{
	if (!net_started && conf) {
		net_started = 1;
		net_start();
	}
	if (!mgmt_nic)
		return 0;
	net_tx_hold();
	check_link();
	/* dns= wins over the server a DHCP (re)binding just wrote (see the top) */
	if (has_dns_override && !ip_addr_cmp(dns_getserver(0), &dns_override))
		dns_setserver(0, &dns_override);
	in_stack = 1;
	sys_check_timeouts();
	in_stack = 0;
	net_tx_release();
	/* Flush even inside an outer hold: a caller that waits by polling
	 * from inside one must still get its frames out. */
	sw_flush();
	return 0;
}
SERVICE_POLLER(net, net_poll);

/* See net.h. */
void net_init(const struct net_config *c)
{
	conf = c;
	guest_ports_init();
}

int net_in_stack(void)
{
	return in_stack;
}

void net_tx_hold(void)
{
	tx_holds++;
}

void net_tx_release(void)
{
	if (--tx_holds == 0)
		sw_flush();
}

void net_ip_str(uint32_t ip, char *buf, size_t n)
{
	const uint8_t *b = (const uint8_t *)&ip;
	fmt_snprintf(buf, n, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

void net_get_status(struct net_status *st)
{
	memset(st, 0, sizeof(*st));
	st->mode = net_mode;
	st->nic = mgmt_nic;
	fmt_snprintf(st->why, sizeof(st->why), "%s", net_why);
	if (!mgmt_nic)
		return;
	st->link = mgmt_nic->ops->link_up(mgmt_nic);
	st->ip = ip4_addr_get_u32(netif_ip4_addr(&mgmt_netif));
	st->mask = ip4_addr_get_u32(netif_ip4_netmask(&mgmt_netif));
	st->gw = ip4_addr_get_u32(netif_ip4_gw(&mgmt_netif));
	st->configured = st->ip != 0;
	st->dns = ip4_addr_get_u32(ip_2_ip4(dns_getserver(0)));
	st->dns_from = has_dns_override ? "dns= in hako.cfg" : "DHCP";
}
