/*
 * mgmt/cfg.c - hako.cfg parsing and the table of known keys. Portable.
 */
#include "mgmt/cfg.h"

#include "mgmt/shell/args.h"
#include "vmm/blk/blk.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"

struct cfg hako_cfg;

/* A check returns 0 or writes why the value is wrong into `why`. */
typedef int (*cfg_check_fn)(const char *v, char *why, size_t n);

struct cfg_key {
	const char *key;
	cfg_check_fn check;
	int repeatable;
};

static int check_any(const char *v, char *why, size_t n)
{
	(void)v, (void)why, (void)n; /* free-form value */
	return 0;
}

static int check_net(const char *v, char *why, size_t n)
{
	if (!strcmp(v, "dhcp") || !strcmp(v, "static") || !strcmp(v, "off"))
		return 0;
	fmt_snprintf(why, n, "net must be dhcp, static or off");
	return -EINVAL;
}

int cfg_check_ipv4(const char *s, int prefix)
{
	for (int part = 0; part < 4; part++) {
		unsigned v = 0, digits = 0;
		while (*s >= '0' && *s <= '9' && digits < 4)
			v = v * 10 + (unsigned)(*s++ - '0'), digits++;
		if (!digits || digits > 3 || v > 255)
			return -EINVAL;
		if (part < 3 && *s++ != '.')
			return -EINVAL;
	}
	if (prefix) {
		if (*s++ != '/')
			return -EINVAL;
		uint64_t len;
		if (fmt_parse_uint(s, 0, 32, &len))
			return -EINVAL;
		return 0;
	}
	return *s ? -EINVAL : 0;
}

static int check_ip(const char *v, char *why, size_t n)
{
	if (!cfg_check_ipv4(v, 1))
		return 0;
	fmt_snprintf(why, n, "ip must look like 192.168.1.10/24");
	return -EINVAL;
}

static int check_gw(const char *v, char *why, size_t n)
{
	if (!cfg_check_ipv4(v, 0))
		return 0;
	fmt_snprintf(why, n, "gw must be an IPv4 address like 192.168.1.1");
	return -EINVAL;
}

static int check_dns(const char *v, char *why, size_t n)
{
	if (!cfg_check_ipv4(v, 0))
		return 0;
	fmt_snprintf(why, n, "dns must be the IPv4 address of a DNS server, like 192.168.1.1");
	return -EINVAL;
}

static int check_port(const char *v, char *why, size_t n)
{
	uint64_t p;
	if (!fmt_parse_uint(v, 1, 65535, &p))
		return 0;
	fmt_snprintf(why, n, "a port is a number from 1 to 65535");
	return -EINVAL;
}

/* timeslice=: a shared core's slice in milliseconds (vmm/sched.h). */
static int check_timeslice(const char *v, char *why, size_t n)
{
	uint64_t ms;
	if (!fmt_parse_uint(v, 1, 1000, &ms))
		return 0;
	fmt_snprintf(why, n, "timeslice is a number of milliseconds from 1 to 1000");
	return -EINVAL;
}

/* scrub=: who zeroes the memory guests give back (vmm/core/scrub.h). */
static int check_scrub(const char *v, char *why, size_t n)
{
	if (!strcmp(v, "idle") || !strcmp(v, "start"))
		return 0;
	fmt_snprintf(why, n, "scrub must be idle (idle cores zero freed memory) or start");
	return -EINVAL;
}

/* catalog= and pool=: a LUN, or any disk URL the block layer knows (ram: for tests). */
static int check_iscsi_url(const char *v, char *why, size_t n)
{
	if (!strncmp(v, "iscsi://", 8) || !blk_url_check(v, why, n))
		return 0;
	fmt_snprintf(why, n, "expected an iscsi://HOST[:PORT]/IQN/LUN URL");
	return -EINVAL;
}

static int check_level(const char *v, char *why, size_t n)
{
	if (!strcmp(v, "error") || !strcmp(v, "warn") || !strcmp(v, "info") || !strcmp(v, "debug"))
		return 0;
	fmt_snprintf(why, n, "log_level must be error, warn, info or debug");
	return -EINVAL;
}

static int check_user(const char *v, char *why, size_t n)
{
	const char *colon = strchr(v, ':');
	if (colon && colon != v && colon[1])
		return 0;
	fmt_snprintf(why, n, "user must be NAME:HASH (see tools/hako-passwd)");
	return -EINVAL;
}

/* quota_cpus= and quota_guests=: a count. */
static int check_count(const char *v, char *why, size_t n)
{
	uint64_t c;
	if (!fmt_parse_uint(v, 0, 1000000, &c))
		return 0;
	fmt_snprintf(why, n, "expected a number from 0 to 1000000");
	return -EINVAL;
}

/* quota_mem= and quota_pool=: a size (K, M, G). */
static int check_size(const char *v, char *why, size_t n)
{
	uint64_t b;
	if (!fmt_parse_size(v, &b))
		return 0;
	fmt_snprintf(why, n, "expected a size like 512M or 4G");
	return -EINVAL;
}

static const struct cfg_key known_keys[] = {
	{ "net", check_net, 0 },
	{ "ip", check_ip, 0 },
	{ "gw", check_gw, 0 },
	{ "dns", check_dns, 0 },
	{ "nic", check_any, 0 },
	{ "mgmt_port", check_port, 0 },
	{ "mgmt_idle", check_port, 0 }, /* network console idle timeout, seconds */
	{ "user", check_user, 1 },
	{ "catalog", check_iscsi_url, 0 },
	{ "pool", check_iscsi_url, 0 },
	{ "iscsi_timeout", check_port, 0 },
	{ "initiator", check_any, 0 },
	{ "log_level", check_level, 0 },
	{ "hostname", check_any, 0 },
	{ "quota_cpus", check_count, 0 },  /* users' default limits (mgmt/quota.c) */
	{ "quota_mem", check_size, 0 },
	{ "quota_guests", check_count, 0 },
	{ "quota_pool", check_size, 0 },
	{ "timeslice", check_timeslice, 0 },
	{ "scrub", check_scrub, 0 },
	{ "scrub_ahead", check_size, 0 },
};

static const struct cfg_key *find_key(const char *k)
{
	for (size_t i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++)
		if (!strcmp(known_keys[i].key, k))
			return &known_keys[i];
	return 0;
}

struct reporter {
	void (*fn)(void *, const char *);
	void *ctx;
	unsigned count;
};

static void problem(struct reporter *r, unsigned line, const char *fmt, const char *arg)
{
	char msg[CFG_VALUE_MAX + 96];
	int n = fmt_snprintf(msg, sizeof(msg), "hako.cfg:%u: ", line);
	fmt_snprintf(msg + n, sizeof(msg) - n, fmt, arg);
	r->count++;
	if (r->fn)
		r->fn(r->ctx, msg);
}

static void trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r'))
		(*e)--;
}

static void store(struct cfg *cfg, const struct cfg_key *k, const char *v, unsigned line,
		  struct reporter *r)
{
	struct cfg_entry *e = 0;
	if (!k->repeatable)
		for (unsigned i = 0; i < cfg->count; i++)
			if (!strcmp(cfg->entries[i].key, k->key))
				e = &cfg->entries[i];
	if (!e) {
		if (cfg->count == CFG_MAX_ENTRIES) {
			problem(r, line, "too many settings; '%s' ignored", k->key);
			return;
		}
		e = &cfg->entries[cfg->count++];
	}
	memcpy(e->key, k->key, strlen(k->key) + 1);
	memcpy(e->value, v, strlen(v) + 1);
	e->line = line;
}

/* Are all bytes of [s, e) printable ASCII? (A NUL byte is not.) */
static int printable(const char *s, const char *e)
{
	for (; s < e; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

static void parse_line(struct cfg *cfg, const char *s, const char *e, unsigned line,
		       struct reporter *r)
{
	trim(&s, &e);
	if (s == e || *s == '#')
		return;
	const char *eq = s;
	while (eq < e && *eq != '=')
		eq++;
	if (eq == e) {
		problem(r, line, "expected KEY=VALUE%s", "");
		return;
	}
	const char *ks = s, *ke = eq, *vs = eq + 1, *ve = e;
	trim(&ks, &ke);
	trim(&vs, &ve);
	char key[CFG_KEY_MAX], value[CFG_VALUE_MAX], why[96];
	if (ke - ks >= CFG_KEY_MAX || ke == ks || !printable(ks, ke)) {
		problem(r, line, "bad key%s", "");
		return;
	}
	if (ve - vs >= CFG_VALUE_MAX) {
		problem(r, line, "value too long (at most %s characters)", "255");
		return;
	}
	memcpy(key, ks, ke - ks);
	key[ke - ks] = 0;
	memcpy(value, vs, ve - vs);
	value[ve - vs] = 0;
	if (!printable(vs, ve)) {
		problem(r, line, "value of '%s' has a control or non-ASCII character", key);
		return;
	}
	const struct cfg_key *k = find_key(key);
	if (!k) {
		problem(r, line, "unknown key '%s' (ignored)", key);
		return;
	}
	if (k->check(value, why, sizeof(why))) {
		problem(r, line, "%s (line ignored)", why);
		return;
	}
	store(cfg, k, value, line, r);
}

unsigned cfg_parse(struct cfg *cfg, const char *text, size_t len,
		   void (*report)(void *ctx, const char *msg), void *ctx)
{
	struct reporter r = { report, ctx, 0 };
	unsigned line = 1;
	size_t start = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->present = 1;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && text[i] != '\n')
			continue;
		if (i - start > 1024)
			problem(&r, line, "line too long%s", "");
		else
			parse_line(cfg, text + start, text + i, line, &r);
		line++;
		start = i + 1;
	}
	cfg->errors = r.count;
	return r.count;
}

const char *cfg_get_nth(const struct cfg *cfg, const char *key, unsigned n)
{
	for (unsigned i = 0; i < cfg->count; i++)
		if (!strcmp(cfg->entries[i].key, key) && n-- == 0)
			return cfg->entries[i].value;
	return 0;
}

const char *cfg_get(const struct cfg *cfg, const char *key)
{
	const char *v = 0;
	for (unsigned i = 0; i < cfg->count; i++)
		if (!strcmp(cfg->entries[i].key, key))
			v = cfg->entries[i].value;
	return v;
}
