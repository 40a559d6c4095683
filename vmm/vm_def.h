/*
 * vmm/vm_def.h - guest definitions (portable; see vm_def.c).
 */
#ifndef HAKO_VM_DEF_H
#define HAKO_VM_DEF_H

#include <stdint.h>

#define VM_NAME_MAX 32
#define VM_MAX_VCPUS 8
#define VM_PATH_MAX 96
#define VM_CMDLINE_MAX 256
#define VM_CHUNK_ORDER 9            /* 2^9 4-KiB pages = 2 MiB */
#define VM_CHUNK_SIZE (1ull << 21)
#define VM_MEM_MIN (4ull << 20)
#define VM_MEM_MAX (64ull << 30)
#define VM_MAX_DISKS 8              /* virtio-mmio slots (vmm/devices.h) */
#define VM_DISK_URL_MAX 256         /* = BLK_URL_MAX (vmm/blk/blk.h) */
#define VM_HOSTNAME_MAX 63          /* one DNS label's worth (RFC 1123), as Linux's hostname */
#define VM_INSTANCE_MAX 40          /* a UUID fits */

/* One `disk=URL[,ro]` key: a virtio block device, vda first. */
struct vm_disk {
	char url[VM_DISK_URL_MAX];
	uint8_t ro;
};
#define VM_DEF_LINE_MAX 4096            /* a `define` line for any definition */

#define VM_MAX_NICS 4                   /* virtio-mmio slots after the disks */
#define VM_LAN_MAX 32                   /* LAN names follow guest names */
#define VM_VLAN_MAX 4094

/* One `net=` key: a virtio-net NIC, eth0 first. */
enum vm_net_kind { VM_NET_UPLINK = 1, VM_NET_LAN = 2 };
struct vm_nic {
	uint8_t kind;                   /* enum vm_net_kind */
	char lan[VM_LAN_MAX + 1];       /* VM_NET_LAN: the LAN's name */
};

/* What `define`/`set` store and `show` prints. */
struct vm_def {
	char name[VM_NAME_MAX + 1];
	unsigned cpus;
	uint64_t mem;                   /* bytes, a multiple of 2 MiB */
	char kernel[VM_PATH_MAX];       /* file name in the boot medium's \hako\ */
	char initrd[VM_PATH_MAX];       /* the same for the initial ramdisk; "" = none */
	char cmdline[VM_CMDLINE_MAX];
	unsigned ndisks;
	struct vm_disk disk[VM_MAX_DISKS];
	int has_mac;                    /* else the MAC is derived from the name */
	uint8_t mac[6];
	unsigned nnics;
	struct vm_nic nic[VM_MAX_NICS];
	uint16_t vlan;                  /* 802.1Q VLAN of the guest's ports; 0 = untagged */
	char owner[VM_NAME_MAX + 1];    /* its user (mgmt/policy.c); "" = the administrators */
	uint8_t template_public;        /* template=public: users may clone it */
	/* Scheduling (vmm/sched.c): a core per vCPU, or turns on shared cores. */
	uint8_t shared;                 /* sched=shared */
	uint16_t weight;                /* weight=N, 1-10000 */
	uint64_t cores;                 /* cores=LIST: bit i = guest core i may run it; 0 = any */
	int boot_disk;                  /* boot=disk: the kernel installed on disk 0 */
	char hostname[VM_HOSTNAME_MAX + 1];     /* "": the guest's name */
	char instance_id[VM_INSTANCE_MAX + 1];  /* "": derived from the name (older catalogs) */
};

/*
 * How many cores the machine has, the service core 0 included: `cores=`
 * typed at the shell may name 1 .. vm_def_core_count - 1. Set at boot; 64
 * until then. A definition from the catalog may name cores this machine
 * lacks (it was written on another): `start` uses those it has.
 */
extern unsigned vm_def_core_count;
/* 0, or -EINVAL with a message when d->cores names a core this machine lacks. */
int vm_def_check_cores(const struct vm_def *d, char *err, unsigned len);
#define VM_CORES_MAX 64

/* The defaults of CLI.md: 1 vCPU, 256M, cmdline "console=ttyS0", no kernel. */
void vm_def_defaults(struct vm_def *d, const char *name);
/*
 * Applies KEY=VALUE; 0, or -E... with a message for the shell in err.
 * `disk=URL[,ro]` appends a disk (at most VM_MAX_DISKS); `disk=` with an
 * empty value removes them all, so `set NAME disk= disk=URL` replaces them.
 * `net=uplink` and `net=lan:NAME` append a NIC (at most VM_MAX_NICS);
 * `net=none` removes them all. `vlan=N` (1-4094), `vlan=none` untagged.
 * `owner=USER` (empty: the administrators) and `template=public|private`
 * are checked against accounts and roles by mgmt/policy.c, not here.
 * `sched=dedicated|shared`, `weight=N` (1-10000), `cores=LIST` (`1,3-5`:
 * guest cores, never the service core 0; `cores=` or `cores=all` for any).
 */
int vm_def_set(struct vm_def *d, const char *key, const char *value, char *err, unsigned len);
/* The same for one "KEY=VALUE" word. */
int vm_def_set_arg(struct vm_def *d, char *arg, char *err, unsigned len);
/*
 * A new instance id (16 hex digits) from `entropy` and the name: `define`
 * and `clone` give each guest its own, so a cloned system knows it is a
 * new machine (cloud-init's instance-id).
 */
void vm_def_new_instance(struct vm_def *d, uint64_t entropy);
/* The guest's hostname: hostname= or its name. */
const char *vm_def_hostname(const struct vm_def *d);
/* Its instance id: instance-id=, or for definitions older than it one derived from the name. */
void vm_def_instance(const struct vm_def *d, char *out, unsigned len);
/*
 * Appends to `line` (a command line of `cap` bytes) how a Linux guest
 * learns its identity: ` systemd.hostname=NAME ds=nocloud;h=NAME;i=ID`,
 * each unless the line already sets it. 0 or -E2BIG.
 */
int vm_def_identity_args(const struct vm_def *d, char *line, unsigned cap);
/* The MAC of a guest without mac=: from its name, locally administered unicast. */
void vm_def_mac_from_name(const char *name, uint8_t mac[6]);
/*
 * The MAC of NIC i (eth0 = 0): the guest's MAC (mac=, or from its name) for
 * eth0; for each further NIC the same with i added to its last octet.
 */
void vm_def_nic_mac(const struct vm_def *d, unsigned i, uint8_t mac[6]);
/*
 * The `define` line that recreates d (VM_DEF_LINE_MAX bytes suffice), for
 * the catalog: secrets included. Quotes and backslashes in cmdline are
 * escaped so that args_split() reads the line back unchanged.
 */
void vm_def_format(const struct vm_def *d, char *buf, unsigned len);
/* The same for people (`show`): CHAP secrets in disk URLs print as ****. */
void vm_def_format_masked(const struct vm_def *d, char *buf, unsigned len);
/* `cores` as a LIST (`1,3-5`) for `show` and `host`; "all" for 0. */
void vm_def_format_cores(uint64_t cores, char *buf, unsigned len);

#endif
