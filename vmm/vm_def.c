/*
 * vmm/vm_def.c - guest definitions: defaults, KEY=VALUE changes and the
 * `define` line `show` prints (shared/CLI.md "Guest definition keys").
 * Portable; every value comes from a shell line and is checked.
 */
#include "vmm/vm_def.h"

#include "vmm/blk/blk.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/redact.h"
#include "vmm/core/lib/string.h"
#include "vmm/sched_policy.h"

unsigned vm_def_core_count = VM_CORES_MAX;

void vm_def_defaults(struct vm_def *d, const char *name)
{
	memset(d, 0, sizeof(*d));
	memcpy(d->name, name, strnlen(name, VM_NAME_MAX));
	d->cpus = 1;
	d->mem = 256ull << 20;
	d->weight = SCHED_WEIGHT_DEFAULT;
	memcpy(d->cmdline, "console=ttyS0", sizeof("console=ttyS0"));
}

static int fail(char *err, unsigned len, int code, const char *msg, const char *arg)
{
	fmt_snprintf(err, len, msg, arg);
	return code;
}

static int set_copy(char *dst, unsigned cap, const char *v, char *err, unsigned len, const char *key)
{
	if (strlen(v) >= cap)
		return fail(err, len, -ENAMETOOLONG, "value of '%s' is too long", key);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int set_kernel(struct vm_def *d, const char *v, char *err, unsigned len)
{
	if (strncmp(v, "esp:", 4) || !v[4])
		return fail(err, len, -EINVAL,
			    "kernel must be esp:PATH (a file in the boot medium's \\hako\\ folder), not '%s'", v);
	return set_copy(d->kernel, sizeof(d->kernel), v + 4, err, len, "kernel");
}

_Static_assert(VM_DISK_URL_MAX == BLK_URL_MAX, "disk URLs fit the block layer's");

/* disk=URL[,ro] appends; disk= clears. The URL's syntax is the block layer's. */
static int set_disk(struct vm_def *d, const char *v, char *err, unsigned len)
{
	char url[VM_DISK_URL_MAX];
	if (!*v) {
		d->ndisks = 0;
		return 0;
	}
	if (d->ndisks == VM_MAX_DISKS)
		return fmt_snprintf(err, len, "too many disks: at most %u (disk= alone removes them)",
				    VM_MAX_DISKS), -E2BIG;
	size_t n = strlen(v);
	int ro = n > 3 && !strcmp(v + n - 3, ",ro");
	if (ro)
		n -= 3;
	if (n >= sizeof(url))
		return fmt_snprintf(err, len, "disk URL is too long (at most %u characters)",
				    VM_DISK_URL_MAX - 1), -ENAMETOOLONG;
	memcpy(url, v, n);
	url[n] = 0;
	if (strchr(url, ','))
		return fail(err, len, -EINVAL, "bad disk option in '%s': only ,ro is known", v);
	int rc = blk_url_check(url, err, len);
	if (rc)
		return rc;
	memcpy(d->disk[d->ndisks].url, url, n + 1);
	d->disk[d->ndisks++].ro = (uint8_t)ro;
	return 0;
}

/* mac=XX:XX:XX:XX:XX:XX, unicast (bit 0 of the first octet clear, IEEE 802 8.2). */
static int set_mac(struct vm_def *d, const char *v, char *err, unsigned len)
{
	uint8_t m[6];
	if (fmt_parse_mac(v, m))
		return fail(err, len, -EINVAL, "bad MAC '%s': use XX:XX:XX:XX:XX:XX", v);
	if (m[0] & 1)
		return fail(err, len, -EINVAL, "MAC '%s' is a multicast address", v);
	memcpy(d->mac, m, 6);
	d->has_mac = 1;
	return 0;
}

/* FNV-1a of the name; octet 0 gets the locally-administered bit and no multicast bit. */
void vm_def_mac_from_name(const char *name, uint8_t mac[6])
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * i));
	mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02);
}

void vm_def_nic_mac(const struct vm_def *d, unsigned i, uint8_t mac[6])
{
	if (d->has_mac)
		memcpy(mac, d->mac, 6);
	else
		vm_def_mac_from_name(d->name, mac);
	mac[5] = (uint8_t)(mac[5] + i);
}

/* A LAN name follows the rule for guest names (CLI.md): 1-32 of [a-z0-9_-], a letter first. */
static int lan_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > VM_LAN_MAX || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-'))
			return 0;
	return 1;
}

/* net=uplink|lan:NAME appends a NIC; net=none removes them all. */
static int set_net(struct vm_def *d, const char *v, char *err, unsigned len)
{
	struct vm_nic nic = { 0 };
	if (!strcmp(v, "none")) {
		d->nnics = 0;
		return 0;
	}
	if (!strcmp(v, "uplink")) {
		nic.kind = VM_NET_UPLINK;
	} else if (!strncmp(v, "lan:", 4) && lan_name_ok(v + 4)) {
		nic.kind = VM_NET_LAN;
		memcpy(nic.lan, v + 4, strlen(v + 4));
	} else {
		return fail(err, len, -EINVAL,
			    "bad net '%s': use net=uplink, net=lan:NAME (1-32 of [a-z0-9_-], a letter "
			    "first) or net=none", v);
	}
	if (d->nnics == VM_MAX_NICS)
		return fmt_snprintf(err, len, "too many NICs: at most %u (net=none removes them)",
				    VM_MAX_NICS), -E2BIG;
	d->nic[d->nnics++] = nic;
	return 0;
}

/* vlan=N (1-4094: 0 and 4095 are reserved, IEEE 802.1Q Table 9-2), vlan=none. */
static int set_vlan(struct vm_def *d, const char *v, char *err, unsigned len)
{
	uint64_t n;
	if (!strcmp(v, "none") || !*v) {
		d->vlan = 0;
		return 0;
	}
	if (fmt_parse_uint(v, 1, VM_VLAN_MAX, &n))
		return fail(err, len, -EINVAL, "vlan must be a number from 1 to 4094 (or none), not '%s'",
			    v);
	d->vlan = (uint16_t)n;
	return 0;
}

/* initrd=esp:PATH, or initrd= (empty) to remove it. */
static int set_initrd(struct vm_def *d, const char *v, char *err, unsigned len)
{
	if (!*v) {
		d->initrd[0] = 0;
		return 0;
	}
	if (strncmp(v, "esp:", 4) || !v[4])
		return fail(err, len, -EINVAL,
			    "initrd must be esp:PATH (a file in the boot medium's \\hako\\ folder), not '%s'", v);
	return set_copy(d->initrd, sizeof(d->initrd), v + 4, err, len, "initrd");
}

/* owner=USER (a name like a guest's), owner= for the administrators. */
static int set_owner(struct vm_def *d, const char *v, char *err, unsigned len)
{
	if (*v && !lan_name_ok(v))
		return fail(err, len, -EINVAL, "bad owner '%s': a user name (1-32 of [a-z0-9_-], a "
			    "letter first)", v);
	memset(d->owner, 0, sizeof(d->owner));
	memcpy(d->owner, v, strlen(v));
	return 0;
}

/* template=public|private: whether users may clone the guest. */
static int set_template(struct vm_def *d, const char *v, char *err, unsigned len)
{
	if (strcmp(v, "public") && strcmp(v, "private"))
		return fail(err, len, -EINVAL, "template must be public or private, not '%s'", v);
	d->template_public = !strcmp(v, "public");
	return 0;
}

static int set_sched(struct vm_def *d, const char *v, char *err, unsigned len)
{
	if (strcmp(v, "dedicated") && strcmp(v, "shared"))
		return fail(err, len, -EINVAL, "sched must be dedicated or shared, not '%s'", v);
	d->shared = !strcmp(v, "shared");
	return 0;
}

static int set_weight(struct vm_def *d, const char *v, char *err, unsigned len)
{
	uint64_t n;
	if (fmt_parse_uint(v, SCHED_WEIGHT_MIN, SCHED_WEIGHT_MAX, &n))
		return fail(err, len, -EINVAL, "weight must be a number from 1 to 10000, not '%s'", v);
	d->weight = (uint16_t)n;
	return 0;
}

/* One core number of a cores= list: a guest core this machine has. */
static int core_number(const char *s, size_t n, unsigned *out, char *err, unsigned len)
{
	char num[8];
	uint64_t c;
	if (!n || n >= sizeof(num))
		return fail(err, len, -EINVAL, "bad cores list: use core numbers like 1,2 or 1-3", "");
	memcpy(num, s, n);
	num[n] = 0;
	if (fmt_parse_uint(num, 0, VM_CORES_MAX - 1, &c))
		return fail(err, len, -EINVAL, "bad core '%s' in cores: use numbers like 1,2 or 1-3", num);
	if (c == 0)
		return fail(err, len, -EINVAL, "core 0 is the service core; cores may name guest "
			    "cores only (1 and up)%s", "");
	*out = (unsigned)c;
	return 0;
}

/* cores=1,3-5; cores= or cores=all for any guest core. */
static int set_cores(struct vm_def *d, const char *v, char *err, unsigned len)
{
	uint64_t mask = 0;
	if (!*v || !strcmp(v, "all")) {
		d->cores = 0;
		return 0;
	}
	for (const char *p = v; *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *dash = 0;
		for (size_t i = 0; i < n && !dash; i++)
			dash = p[i] == '-' ? p + i : 0;
		unsigned lo, hi;
		if (core_number(p, dash ? (size_t)(dash - p) : n, &lo, err, len))
			return -EINVAL;
		hi = lo;
		if (dash && core_number(dash + 1, n - (size_t)(dash + 1 - p), &hi, err, len))
			return -EINVAL;
		if (hi < lo)
			return fail(err, len, -EINVAL, "bad range in cores '%s': write the lower core first",
				    v);
		for (unsigned c = lo; c <= hi; c++)
			mask |= 1ull << c;
		p += n + (end ? 1 : 0);
		if (end && !*p)
			return fail(err, len, -EINVAL, "bad cores list '%s': it ends with a comma", v);
	}
	d->cores = mask;
	return 0;
}

int vm_def_check_cores(const struct vm_def *d, char *err, unsigned len)
{
	for (unsigned c = vm_def_core_count; c < VM_CORES_MAX; c++)
		if (d->cores >> c & 1)
			return fmt_snprintf(err, len, "there is no core %u: this machine has guest "
					    "cores 1-%u", c, vm_def_core_count - 1), -EINVAL;
	return 0;
}

void vm_def_format_cores(uint64_t cores, char *buf, unsigned len)
{
	unsigned o = 0;
	if (len)
		buf[0] = 0;
	if (!cores) {
		fmt_snprintf(buf, len, "all");
		return;
	}
	for (unsigned c = 0; c < VM_CORES_MAX && o < len; c++) {
		if (!(cores >> c & 1) || (c && cores >> (c - 1) & 1))
			continue; /* not in, or inside a run */
		unsigned e = c;
		while (e + 1 < VM_CORES_MAX && cores >> (e + 1) & 1)
			e++;
		int n = e == c ? fmt_snprintf(buf + o, len - o, "%s%u", o ? "," : "", c) :
				 fmt_snprintf(buf + o, len - o, "%s%u-%u", o ? "," : "", c, e);
		if (n < 0)
			return;
		o += (unsigned)n;
	}
}

/* boot=disk, or boot=kernel (or empty) for kernel=. */
static int set_boot(struct vm_def *d, const char *v, char *err, unsigned len)
{
	if (strcmp(v, "disk") && strcmp(v, "kernel") && *v)
		return fail(err, len, -EINVAL, "boot must be disk or kernel, not '%s'", v);
	d->boot_disk = !strcmp(v, "disk");
	return 0;
}

static int name_char(char c, int dot)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || (dot && c == '.');
}

/* hostname=NAME (RFC 1123: letters, digits, '-' and '.', a letter or digit at each end). */
static int set_hostname(struct vm_def *d, const char *v, char *err, unsigned len)
{
	size_t n = strlen(v);
	int ok = n <= VM_HOSTNAME_MAX;
	for (size_t i = 0; ok && i < n; i++)
		ok = name_char(v[i], 1);
	if (!ok || (n && (v[0] == '-' || v[0] == '.' || v[n - 1] == '-' || v[n - 1] == '.')))
		return fail(err, len, -EINVAL, "bad hostname '%s': use 1-63 of [a-z0-9.-], starting and "
			    "ending with a letter or digit (hostname= alone: the guest's name)", v);
	memcpy(d->hostname, v, n + 1);
	return 0;
}

/* instance-id=ID: what `define` and `clone` choose; settable to keep one across hosts. */
static int set_instance(struct vm_def *d, const char *v, char *err, unsigned len)
{
	size_t n = strlen(v);
	int ok = n && n <= VM_INSTANCE_MAX;
	for (size_t i = 0; ok && i < n; i++)
		ok = name_char(v[i], 0);
	if (!ok)
		return fail(err, len, -EINVAL, "bad instance-id '%s': use 1-40 of [a-z0-9-]", v);
	memcpy(d->instance_id, v, n + 1);
	return 0;
}

static uint64_t fnv1a(const char *s, uint64_t h)
{
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

void vm_def_new_instance(struct vm_def *d, uint64_t entropy)
{
	uint64_t h = fnv1a(d->name, 0xcbf29ce484222325ull ^ entropy);
	h ^= h >> 29, h *= 0xbf58476d1ce4e5b9ull, h ^= h >> 32;   /* spread the entropy's bits */
	fmt_snprintf(d->instance_id, sizeof(d->instance_id), "%016lx", h);
}

const char *vm_def_hostname(const struct vm_def *d)
{
	return d->hostname[0] ? d->hostname : d->name;
}

void vm_def_instance(const struct vm_def *d, char *out, unsigned len)
{
	if (d->instance_id[0])
		fmt_snprintf(out, len, "%s", d->instance_id);
	else
		fmt_snprintf(out, len, "%016lx", fnv1a(d->name, 0xcbf29ce484222325ull));
}

/* Whether the command line already has parameter `key` (like "ds="). */
static int has_param(const char *line, const char *key)
{
	for (const char *p = strstr(line, key); p; p = strstr(p + 1, key))
		if (p == line || p[-1] == ' ')
			return 1;
	return 0;
}

int vm_def_identity_args(const struct vm_def *d, char *line, unsigned cap)
{
	char id[VM_INSTANCE_MAX + 1];
	const char *h = vm_def_hostname(d);
	size_t n = strlen(line);
	int w = 0;
	vm_def_instance(d, id, sizeof(id));
	if (!has_param(line, "systemd.hostname="))
		w = fmt_snprintf(line + n, cap - n, " systemd.hostname=%s", h);
	if (w < 0 || n + (size_t)w >= cap)
		return line[n] = 0, -E2BIG;
	n += (size_t)w, w = 0;
	if (!has_param(line, "ds="))
		w = fmt_snprintf(line + n, cap - n, " ds=nocloud;h=%s;i=%s", h, id);
	if (w < 0 || n + (size_t)w >= cap)
		return line[n] = 0, -E2BIG;
	return 0;
}

int vm_def_set(struct vm_def *d, const char *key, const char *v, char *err, unsigned len)
{
	uint64_t n;
	if (!strcmp(key, "cpus")) {
		if (fmt_parse_uint(v, 1, VM_MAX_VCPUS, &n))
			return fail(err, len, -EINVAL, "cpus must be a number from 1 to 8, not '%s'", v);
		d->cpus = (unsigned)n;
		return 0;
	}
	if (!strcmp(key, "mem")) {
		if (fmt_parse_size(v, &n) || n < VM_MEM_MIN || n > VM_MEM_MAX || n % VM_CHUNK_SIZE)
			return fail(err, len, -EINVAL,
				    "bad size '%s': mem must be a multiple of 2M from 4M to 64G", v);
		d->mem = n;
		return 0;
	}
	if (!strcmp(key, "kernel"))
		return set_kernel(d, v, err, len);
	if (!strcmp(key, "initrd"))
		return set_initrd(d, v, err, len);
	if (!strcmp(key, "cmdline"))
		return set_copy(d->cmdline, sizeof(d->cmdline), v, err, len, "cmdline");
	if (!strcmp(key, "disk"))
		return set_disk(d, v, err, len);
	if (!strcmp(key, "mac"))
		return set_mac(d, v, err, len);
	if (!strcmp(key, "net"))
		return set_net(d, v, err, len);
	if (!strcmp(key, "vlan"))
		return set_vlan(d, v, err, len);
	if (!strcmp(key, "owner"))
		return set_owner(d, v, err, len);
	if (!strcmp(key, "template"))
		return set_template(d, v, err, len);
	if (!strcmp(key, "sched"))
		return set_sched(d, v, err, len);
	if (!strcmp(key, "weight"))
		return set_weight(d, v, err, len);
	if (!strcmp(key, "cores"))
		return set_cores(d, v, err, len);
	if (!strcmp(key, "boot"))
		return set_boot(d, v, err, len);
	if (!strcmp(key, "hostname"))
		return set_hostname(d, v, err, len);
	if (!strcmp(key, "instance-id"))
		return set_instance(d, v, err, len);
	return fail(err, len, -EINVAL,
		    "unknown key '%s' (keys: cpus, mem, kernel, initrd, cmdline, disk, mac, net, vlan, "
		    "owner, template, sched, weight, cores, boot, hostname, instance-id)", key);
}

int vm_def_set_arg(struct vm_def *d, char *arg, char *err, unsigned len)
{
	char *eq = strchr(arg, '=');
	if (!eq || eq == arg)
		return fail(err, len, -EINVAL, "malformed '%s': expected KEY=VALUE", arg);
	*eq = 0;
	int rc = vm_def_set(d, arg, eq + 1, err, len);
	*eq = '=';
	return rc;
}

static const char *size_str(uint64_t b, char *buf, unsigned len)
{
	if (b % (1ull << 30) == 0)
		fmt_snprintf(buf, len, "%luG", b >> 30);
	else
		fmt_snprintf(buf, len, "%luM", b >> 20);
	return buf;
}

/* cmdline inside double quotes, with " and \ escaped (see args_split). */
static int format_cmdline(const char *cmdline, char *buf, unsigned len)
{
	unsigned o = 0;
	if (len < 3)
		return (int)len;
	buf[o++] = '"';
	for (const char *p = cmdline; *p && o + 3 < len; p++) {
		if (*p == '"' || *p == '\\')
			buf[o++] = '\\';
		buf[o++] = *p;
	}
	buf[o++] = '"';
	buf[o] = 0;
	return (int)o;
}

/* sched=, weight= and cores= where they differ from the defaults. */
static void format_sched(const struct vm_def *d, char *buf, unsigned len, int n)
{
	char cores[3 * VM_CORES_MAX];
	if (d->shared && n >= 0 && (unsigned)n < len)
		n += fmt_snprintf(buf + n, len - n, " sched=shared");
	if (d->weight != SCHED_WEIGHT_DEFAULT && n >= 0 && (unsigned)n < len)
		n += fmt_snprintf(buf + n, len - n, " weight=%u", d->weight);
	vm_def_format_cores(d->cores, cores, sizeof(cores));
	if (d->cores && n >= 0 && (unsigned)n < len)
		fmt_snprintf(buf + n, len - n, " cores=%s", cores);
}

static void format_def(const struct vm_def *d, char *buf, unsigned len, int mask)
{
	char sz[24], url[VM_DEF_LINE_MAX];
	int n = fmt_snprintf(buf, len, "define %s cpus=%u mem=%s", d->name, d->cpus,
			     size_str(d->mem, sz, sizeof(sz)));
	if (d->kernel[0] && n >= 0 && (unsigned)n < len)
		n += fmt_snprintf(buf + n, len - n, " kernel=esp:%s", d->kernel);
	if (d->initrd[0] && n >= 0 && (unsigned)n < len)
		n += fmt_snprintf(buf + n, len - n, " initrd=esp:%s", d->initrd);
	if (n >= 0 && (unsigned)n + 9 < len) {
		n += fmt_snprintf(buf + n, len - n, " cmdline=");
		n += format_cmdline(d->cmdline, buf + n, len - n);
	}
	for (unsigned i = 0; i < d->ndisks && n >= 0 && (unsigned)n < len; i++) {
		if (mask)
			redact_url(d->disk[i].url, url, sizeof(url));
		n += fmt_snprintf(buf + n, len - n, " disk=%s%s", mask ? url : d->disk[i].url,
				  d->disk[i].ro ? ",ro" : "");
	}
	const uint8_t *m = d->mac;
	if (d->has_mac && n >= 0 && (unsigned)n < len)
		n += fmt_snprintf(buf + n, len - n, " mac=%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
				  m[2], m[3], m[4], m[5]);
	for (unsigned i = 0; i < d->nnics && n >= 0 && (unsigned)n < len; i++)
		n += fmt_snprintf(buf + n, len - n, " net=%s%s",
				  d->nic[i].kind == VM_NET_UPLINK ? "uplink" : "lan:",
				  d->nic[i].kind == VM_NET_UPLINK ? "" : d->nic[i].lan);
	if (d->vlan && n >= 0 && (unsigned)n < len)
		n += fmt_snprintf(buf + n, len - n, " vlan=%u", d->vlan);
	if (d->owner[0] && n >= 0 && (unsigned)n < len)
		n += fmt_snprintf(buf + n, len - n, " owner=%s", d->owner);
	if (d->template_public && n >= 0 && (unsigned)n < len)
		n += fmt_snprintf(buf + n, len - n, " template=public");
	if (d->boot_disk && n >= 0 && (unsigned)n < len)
		n += fmt_snprintf(buf + n, len - n, " boot=disk");
	if (d->hostname[0] && n >= 0 && (unsigned)n < len)
		n += fmt_snprintf(buf + n, len - n, " hostname=%s", d->hostname);
	if (d->instance_id[0] && n >= 0 && (unsigned)n < len)
		n += fmt_snprintf(buf + n, len - n, " instance-id=%s", d->instance_id);
	format_sched(d, buf, len, n);
}

void vm_def_format(const struct vm_def *d, char *buf, unsigned len)
{
	format_def(d, buf, len, 0);
}

void vm_def_format_masked(const struct vm_def *d, char *buf, unsigned len)
{
	format_def(d, buf, len, 1);
}
