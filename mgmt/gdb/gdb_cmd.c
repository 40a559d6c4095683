/*
 * mgmt/gdb/gdb_cmd.c - the packets of GDB's remote protocol hako answers
 * (GDB manual, appendix E "Packets", "General Query Packets", "Target
 * Description Format"), for a guest stopped through vmm/vcpu_debug.h.
 *
 * Threads are vCPUs, numbered from 1. Registers follow GDB's amd64
 * layout (the i386 core and SSE features, whose x87 and XMM registers
 * hako reports as unavailable), then the segment bases and a system
 * feature with CR0, CR2, CR3, CR4 and EFER. Addresses in `m`/`M`/`Z0`
 * are the vCPU's virtual addresses, translated through its own page
 * tables; `monitor phys ADDR [LEN]` reads guest-physical memory. An
 * unknown packet gets the empty reply, as the protocol asks.
 */
#include "mgmt/gdb/gdb.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"
#include "vmm/vcpu_debug.h"
#include "vmm/vm.h"

#define UNAVAILABLE -1
#define MEM_MAX ((RSP_MAX - 16) / 2) /* bytes per `m`/`M` */

struct gdb_reg {
	const char *name;
	uint8_t bits;
	const char *type;
	int src;          /* enum dbg_reg, or UNAVAILABLE */
	uint8_t feature;  /* index into features[] */
};

static const char *const features[] = { "org.gnu.gdb.i386.core", "org.gnu.gdb.i386.sse",
					"org.gnu.gdb.i386.segments", "org.hako.system" };

#define R64(n, t, s) { n, 64, t, s, 0 }
#define R32(n, s) { n, 32, "int32", s, 0 }
#define X87(n) { n, 80, "i387_ext", UNAVAILABLE, 0 }
#define FPC(n) { n, 32, "int", UNAVAILABLE, 0 }
#define XMM(n) { n, 128, "vec128", UNAVAILABLE, 1 }
static const struct gdb_reg regs[] = {
	R64("rax", "int64", DBG_RAX), R64("rbx", "int64", DBG_RBX), R64("rcx", "int64", DBG_RCX),
	R64("rdx", "int64", DBG_RDX), R64("rsi", "int64", DBG_RSI), R64("rdi", "int64", DBG_RDI),
	R64("rbp", "data_ptr", DBG_RBP), R64("rsp", "data_ptr", DBG_RSP),
	R64("r8", "int64", DBG_R8), R64("r9", "int64", DBG_R9), R64("r10", "int64", DBG_R10),
	R64("r11", "int64", DBG_R11), R64("r12", "int64", DBG_R12), R64("r13", "int64", DBG_R13),
	R64("r14", "int64", DBG_R14), R64("r15", "int64", DBG_R15),
	R64("rip", "code_ptr", DBG_RIP), R32("eflags", DBG_RFLAGS),
	R32("cs", DBG_CS), R32("ss", DBG_SS), R32("ds", DBG_DS), R32("es", DBG_ES),
	R32("fs", DBG_FS), R32("gs", DBG_GS),
	X87("st0"), X87("st1"), X87("st2"), X87("st3"), X87("st4"), X87("st5"), X87("st6"),
	X87("st7"),
	FPC("fctrl"), FPC("fstat"), FPC("ftag"), FPC("fiseg"), FPC("fioff"), FPC("foseg"),
	FPC("fooff"), FPC("fop"),
	XMM("xmm0"), XMM("xmm1"), XMM("xmm2"), XMM("xmm3"), XMM("xmm4"), XMM("xmm5"),
	XMM("xmm6"), XMM("xmm7"), XMM("xmm8"), XMM("xmm9"), XMM("xmm10"), XMM("xmm11"),
	XMM("xmm12"), XMM("xmm13"), XMM("xmm14"), XMM("xmm15"),
	{ "mxcsr", 32, "int", UNAVAILABLE, 1 },
	{ "fs_base", 64, "int", DBG_FS_BASE, 2 }, { "gs_base", 64, "int", DBG_GS_BASE, 2 },
	{ "cr0", 64, "int", DBG_CR0, 3 }, { "cr2", 64, "int", DBG_CR2, 3 },
	{ "cr3", 64, "int", DBG_CR3, 3 }, { "cr4", 64, "int", DBG_CR4, 3 },
	{ "efer", 64, "int", DBG_EFER, 3 },
};
#define NREGS (sizeof(regs) / sizeof(regs[0]))

/* ---- target.xml, built once from regs[] ---- */

static char xml[8192];
static size_t xml_len;

static void xml_add(const char *s)
{
	size_t n = strlen(s);
	if (xml_len + n < sizeof(xml)) {
		memcpy(xml + xml_len, s, n);
		xml_len += n;
	}
}

static void xml_build(void)
{
	char line[160];
	xml_add("<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\"><target>"
		"<architecture>i386:x86-64</architecture>");
	for (unsigned f = 0; f < sizeof(features) / sizeof(features[0]); f++) {
		fmt_snprintf(line, sizeof(line), "<feature name=\"%s\">", features[f]);
		xml_add(line);
		if (f == 1)
			xml_add("<vector id=\"v4i32\" type=\"int32\" count=\"4\"/><union id=\"vec128\">"
				"<field name=\"v4_int32\" type=\"v4i32\"/>"
				"<field name=\"uint128\" type=\"uint128\"/></union>");
		for (unsigned i = 0; i < NREGS; i++) {
			if (regs[i].feature != f)
				continue;
			fmt_snprintf(line, sizeof(line), "<reg name=\"%s\" bitsize=\"%u\" type=\"%s\" "
				     "regnum=\"%u\"%s/>", regs[i].name, regs[i].bits, regs[i].type, i,
				     f == 3 ? " group=\"system\"" : "");
			xml_add(line);
		}
		xml_add("</feature>");
	}
	xml_add("</target>");
}

static int xfer_features(const char *args, char *reply, size_t cap)
{
	const char *p = args;
	uint64_t off, len;
	if (strncmp(p, "target.xml:", 11))
		return fmt_snprintf(reply, cap, "E00");
	p += 11;
	if (rsp_hex_u64(&p, &off) || *p++ != ',' || rsp_hex_u64(&p, &len))
		return fmt_snprintf(reply, cap, "E01");
	if (!xml_len)
		xml_build();
	if (off >= xml_len)
		return fmt_snprintf(reply, cap, "l");
	size_t n = xml_len - off;
	if (n > len)
		n = len;
	if (n > cap - 2)
		n = cap - 2;
	reply[0] = off + n < xml_len ? 'm' : 'l';
	memcpy(reply + 1, xml + off, n);
	reply[n + 1] = 0;
	return 0;
}

/* ---- registers ---- */

static struct vcpu *cur(struct gdb_target *t)
{
	return t->thread < t->vm->nvcpus ? t->vm->vcpu[t->thread] : t->vm->vcpu[0];
}

/* One register in target byte order (little-endian), or "xx.." when unavailable. */
static size_t reg_hex(struct vcpu *v, unsigned i, char *out)
{
	unsigned bytes = regs[i].bits / 8;
	if (regs[i].src == UNAVAILABLE) {
		memset(out, 'x', 2 * bytes);
		out[2 * bytes] = 0;
		return 2 * bytes;
	}
	uint64_t val = v->dbg.regs[regs[i].src];
	rsp_hex_encode(&val, bytes, out);
	return 2 * bytes;
}

static void read_all(struct gdb_target *t, char *reply)
{
	size_t o = 0;
	for (unsigned i = 0; i < NREGS; i++)
		o += reg_hex(cur(t), i, reply + o);
	reply[o] = 0;
}

/* Sets register i from its hex; only the writable ones (DBG_REG_WRITABLE). */
static int reg_set(struct vcpu *v, unsigned i, const char *hex, size_t hexlen)
{
	uint64_t val = 0;
	unsigned bytes = regs[i].bits / 8;
	if (hexlen != 2 * bytes || bytes > 8 || rsp_hex_decode(hex, bytes, &val))
		return -EINVAL;
	if (regs[i].src == UNAVAILABLE || !DBG_REG_WRITABLE(regs[i].src))
		return -EPERM;
	v->dbg.regs[regs[i].src] = val;
	v->dbg.dirty = 1;
	return 0;
}

/* `G`: every writable register from the packet; the others are read-only here. */
static int write_all(struct gdb_target *t, const char *hex, size_t len)
{
	size_t o = 0;
	for (unsigned i = 0; i < NREGS; i++) {
		size_t n = regs[i].bits / 4;
		if (o + n > len)
			return -EINVAL;
		if (regs[i].src != UNAVAILABLE && DBG_REG_WRITABLE(regs[i].src) &&
		    reg_set(cur(t), i, hex + o, n))
			return -EINVAL;
		o += n;
	}
	return 0;
}

static int one_reg(struct gdb_target *t, const char *p, int write, char *reply, size_t cap)
{
	uint64_t n;
	if (rsp_hex_u64(&p, &n) || n >= NREGS)
		return fmt_snprintf(reply, cap, "E00");
	if (!write) {
		reg_hex(cur(t), (unsigned)n, reply);
		return 0;
	}
	if (*p++ != '=')
		return fmt_snprintf(reply, cap, "E00");
	return fmt_snprintf(reply, cap, reg_set(cur(t), (unsigned)n, p, strlen(p)) ? "E01" : "OK");
}

/* ---- memory ---- */

static int parse_range(const char **p, uint64_t *addr, uint64_t *len)
{
	return rsp_hex_u64(p, addr) || *(*p)++ != ',' || rsp_hex_u64(p, len) || *len > MEM_MAX;
}

static int mem_read(struct gdb_target *t, const char *p, char *reply, size_t cap)
{
	uint64_t addr, len;
	uint8_t buf[MEM_MAX];
	if (parse_range(&p, &addr, &len) || *p)
		return fmt_snprintf(reply, cap, "E01");
	if (vcpu_debug_read(t->vm, t->thread, addr, buf, len))
		return fmt_snprintf(reply, cap, "E14");
	rsp_hex_encode(buf, len, reply);
	return 0;
}

static int mem_write(struct gdb_target *t, const char *p, char *reply, size_t cap)
{
	uint64_t addr, len;
	uint8_t buf[MEM_MAX];
	if (parse_range(&p, &addr, &len) || *p++ != ':' || strlen(p) != 2 * len ||
	    rsp_hex_decode(p, len, buf))
		return fmt_snprintf(reply, cap, "E01");
	if (vcpu_debug_write(t->vm, t->thread, addr, buf, len))
		return fmt_snprintf(reply, cap, "E14");
	return fmt_snprintf(reply, cap, "OK");
}

/*
 * Z0 software breakpoint; Z1 hardware breakpoint, Z2 write and Z4 access
 * watchpoint in DR0-DR3. Z3 (read only) has no x86 form: not offered.
 */
static int breakpoint(struct gdb_target *t, const char *p, int insert, char *reply, size_t cap)
{
	static const int types[] = { -1, WATCH_EXEC, WATCH_WRITE, -1, WATCH_ACCESS };
	uint64_t addr, kind;
	char z = *p++;
	if (z < '0' || z > '4' || (z != '0' && types[z - '0'] < 0))
		return fmt_snprintf(reply, cap, "%s", "");
	if (*p++ != ',' || rsp_hex_u64(&p, &addr) || *p++ != ',' || rsp_hex_u64(&p, &kind) ||
	    kind > 8)
		return fmt_snprintf(reply, cap, "E01");
	int err;
	if (z == '0')
		err = insert ? vcpu_debug_break_insert(t->vm, t->thread, addr)
			     : vcpu_debug_break_remove(t->vm, addr);
	else {
		enum debug_watch_type type = (enum debug_watch_type)types[z - '0'];
		unsigned len = z == '1' ? 1 : (unsigned)kind;
		err = insert ? vcpu_debug_watch_insert(t->vm, type, addr, len)
			     : vcpu_debug_watch_remove(t->vm, type, addr, len);
	}
	return fmt_snprintf(reply, cap, err == -ENOSPC ? "E28" : err ? "E14" : "OK");
}

/* ---- monitor (qRcmd) ---- */

static int monitor_phys(struct gdb_target *t, const char *args, char *text, size_t cap)
{
	uint64_t addr, len = 16;
	uint8_t buf[256];
	const char *p = args;
	while (*p == ' ')
		p++;
	if (p[0] == '0' && p[1] == 'x')
		p += 2;
	if (rsp_hex_u64(&p, &addr))
		return fmt_snprintf(text, cap, "usage: monitor phys ADDR [LEN] (hex, LEN up to 100)\n");
	while (*p == ' ')
		p++;
	if (*p && (fmt_parse_uint(p, 1, sizeof(buf), &len)))
		return fmt_snprintf(text, cap, "bad LEN '%s': 1 to %u bytes\n", p, (unsigned)sizeof(buf));
	if (vcpu_debug_read_phys(t->vm, addr, buf, len))
		return fmt_snprintf(text, cap, "0x%lx: outside the guest's memory\n", addr);
	size_t o = 0;
	for (uint64_t i = 0; i < len && o + 64 < cap; i++) {
		if (i % 16 == 0)
			o += (size_t)fmt_snprintf(text + o, cap - o, "%s0x%lx:", i ? "\n" : "", addr + i);
		o += (size_t)fmt_snprintf(text + o, cap - o, " %02x", buf[i]);
	}
	fmt_snprintf(text + o, cap - o, "\n");
	return 0;
}

static int monitor(struct gdb_target *t, const char *hex, char *reply, size_t cap)
{
	char cmd[128], text[1200];
	size_t n = strlen(hex) / 2;
	if (n >= sizeof(cmd) || rsp_hex_decode(hex, n, cmd))
		return fmt_snprintf(reply, cap, "E01");
	cmd[n] = 0;
	if (!strncmp(cmd, "phys", 4) && (cmd[4] == ' ' || !cmd[4]))
		monitor_phys(t, cmd + 4, text, sizeof(text));
	else
		fmt_snprintf(text, sizeof(text), "hako monitor commands:\n"
			     "  phys ADDR [LEN]   guest-physical memory (ADDR hex, LEN up to 256)\n");
	if (2 * strlen(text) + 1 > cap)
		return fmt_snprintf(reply, cap, "E02");
	rsp_hex_encode(text, strlen(text), reply);
	return 0;
}

/* ---- running and stopping ---- */

static enum gdb_after resume(struct gdb_target *t, int step_vcpu)
{
	t->running = 1;
	vcpu_debug_resume(t->vm, step_vcpu);
	return GDB_NO_REPLY;
}

/* `vCont;ACTION[:THREAD];...`: a step of one thread (the others stay), or continue all. */
static enum gdb_after vcont(struct gdb_target *t, const char *p, char *reply, size_t cap)
{
	if (!strcmp(p, "?")) {
		fmt_snprintf(reply, cap, "vCont;c;C;s;S");
		return GDB_REPLY;
	}
	while (*p == ';') {
		char action = p[1];
		p += 2;
		if (action == 'C' || action == 'S')
			while (fmt_hexdigit(*p) >= 0)
				p++;
		uint64_t tid = t->thread + 1;
		if (*p == ':') {
			p++;
			if (*p == '-' && p[1] == '1')
				p += 2;
			else if (rsp_hex_u64(&p, &tid))
				break;
		}
		if ((action == 's' || action == 'S') && tid >= 1 && tid <= t->vm->nvcpus)
			return resume(t, (int)tid - 1);
		if (action != 'c' && action != 'C' && action != 's' && action != 'S')
			break;
	}
	if (*p) {
		fmt_snprintf(reply, cap, "E01");
		return GDB_REPLY;
	}
	return resume(t, -1);
}

int gdb_stop_reply(struct gdb_target *t, char *reply, size_t cap)
{
	const struct vm_debug *d = t->vm->debug;
	if (!d || !d->stop_req || !vcpu_debug_all_parked(t->vm))
		return 0;
	unsigned who = (unsigned)d->stop_vcpu < t->vm->nvcpus ? (unsigned)d->stop_vcpu : 0;
	t->thread = who;
	char watch[40] = "";
	const struct debug_watch *w = d->stop_watch ? &d->hw[d->stop_watch - 1] : 0;
	if (w && w->type != WATCH_EXEC) /* gdb then reports the watchpoint, old and new value */
		fmt_snprintf(watch, sizeof(watch), "%s:%lx;",
			     w->type == WATCH_WRITE ? "watch" : "awatch", w->addr);
	fmt_snprintf(reply, cap, "T%02x%sthread:%x;", d->stop_why == DBG_STOP_INTERRUPT ? 2 : 5,
		     watch, who + 1);
	return 1;
}

static int thread_ok(struct gdb_target *t, const char *p)
{
	uint64_t tid;
	if ((*p == '-' && p[1] == '1' && !p[2]) || (*p == '0' && !p[1]))
		return 1;
	return !rsp_hex_u64(&p, &tid) && !*p && tid >= 1 && tid <= t->vm->nvcpus;
}

static void thread_list(struct gdb_target *t, char *reply, size_t cap)
{
	size_t o = (size_t)fmt_snprintf(reply, cap, "m");
	for (unsigned i = 0; i < t->vm->nvcpus && o + 4 < cap; i++)
		o += (size_t)fmt_snprintf(reply + o, cap - o, "%s%x", i ? "," : "", i + 1);
}

static enum gdb_after query(struct gdb_target *t, const char *p, char *reply, size_t cap)
{
	if (!strncmp(p, "qSupported", 10))
		fmt_snprintf(reply, cap, "PacketSize=%x;qXfer:features:read+;vContSupported+",
			     RSP_MAX);
	else if (!strncmp(p, "qXfer:features:read:", 20))
		xfer_features(p + 20, reply, cap);
	else if (!strcmp(p, "qfThreadInfo"))
		thread_list(t, reply, cap);
	else if (!strcmp(p, "qsThreadInfo"))
		fmt_snprintf(reply, cap, "l");
	else if (!strcmp(p, "qC"))
		fmt_snprintf(reply, cap, "QC%x", t->thread + 1);
	else if (!strcmp(p, "qAttached"))
		fmt_snprintf(reply, cap, "1");
	else if (!strncmp(p, "qRcmd,", 6))
		monitor(t, p + 6, reply, cap);
	else
		reply[0] = 0;
	return GDB_REPLY;
}

/* Packets that need the guest stopped. */
static enum gdb_after stopped_packet(struct gdb_target *t, const char *p, size_t len, char *reply,
				     size_t cap)
{
	switch (p[0]) {
	case 'g':
		read_all(t, reply);
		break;
	case 'G':
		fmt_snprintf(reply, cap, write_all(t, p + 1, len - 1) ? "E01" : "OK");
		break;
	case 'p':
	case 'P':
		one_reg(t, p + 1, p[0] == 'P', reply, cap);
		break;
	case 'm':
		mem_read(t, p + 1, reply, cap);
		break;
	case 'M':
		mem_write(t, p + 1, reply, cap);
		break;
	case 'Z':
	case 'z':
		breakpoint(t, p + 1, p[0] == 'Z', reply, cap);
		break;
	case 'c':
	case 'C':
		return resume(t, -1);
	case 's':
	case 'S':
		return resume(t, (int)t->thread);
	default:
		if (!strncmp(p, "vCont", 5))
			return vcont(t, p + 5, reply, cap);
		return query(t, p, reply, cap);
	}
	return GDB_REPLY;
}

enum gdb_after gdb_packet(struct gdb_target *t, const char *p, size_t len, char *reply, size_t cap)
{
	uint64_t tid;
	const char *q;
	reply[0] = 0;
	if (!len)
		return GDB_REPLY;
	switch (p[0]) {
	case '?':
		if (gdb_stop_reply(t, reply, cap))
			return GDB_REPLY;
		t->running = 1; /* the stop the attach asked for is still under way */
		return GDB_NO_REPLY;
	case 'D':
		fmt_snprintf(reply, cap, "OK");
		return GDB_REPLY_CLOSE;
	case 'k':
		return GDB_CLOSE;
	case 'H':
		q = p + 2;
		if (len < 3 || !thread_ok(t, q))
			fmt_snprintf(reply, cap, "E00");
		else {
			if (p[1] == 'g' && !rsp_hex_u64(&q, &tid) && tid >= 1)
				t->thread = (unsigned)tid - 1;
			fmt_snprintf(reply, cap, "OK");
		}
		return GDB_REPLY;
	case 'T':
		fmt_snprintf(reply, cap, thread_ok(t, p + 1) ? "OK" : "E00");
		return GDB_REPLY;
	case 'q':
		if (strncmp(p, "qRcmd,", 6))
			return query(t, p, reply, cap);
		break;
	default:
		break;
	}
	if (t->running) {
		fmt_snprintf(reply, cap, "E10"); /* the guest runs: only Ctrl-C stops it */
		return GDB_REPLY;
	}
	return stopped_packet(t, p, len, reply, cap);
}
