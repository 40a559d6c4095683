/*
 * drivers/pci/pci.c - PCI configuration access and bus enumeration.
 *
 * Two ways into configuration space: the enhanced configuration access
 * mechanism (ECAM, PCIe Base 4.0 7.2.2: bus << 20 | dev << 15 | fn << 12 |
 * offset, from ACPI's MCFG table), or configuration mechanism #1 through
 * ports 0xCF8/0xCFC (PCI Local Bus 3.0 3.2.2.3.2) when there is no MCFG.
 * Enumeration is a depth-first walk from bus 0 through PCI-to-PCI bridges'
 * secondary bus numbers, as the firmware assigned them.
 */
#include "drivers/pci/pci.h"

#include "vmm/core/cpu.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/page.h"

struct pci_dev pci_devs[PCI_MAX_DEVS];
unsigned pci_count;

static uint64_t ecam_base;
static unsigned ecam_bus_start, ecam_bus_end;

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA 0xcfc

static volatile uint8_t *ecam_ptr(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
	return (volatile uint8_t *)(ecam_base + ((uint64_t)(bus - ecam_bus_start) << 20) +
				    (dev << 15) + (fn << 12) + off);
}

static int use_ecam(unsigned bus)
{
	return ecam_base && bus >= ecam_bus_start && bus <= ecam_bus_end;
}

static uint32_t cfg_read32(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
	off &= 0xffc;
	if (use_ecam(bus))
		return *(volatile uint32_t *)ecam_ptr(bus, dev, fn, off);
	if (off >= 256)
		return 0xffffffff;
	outl(PCI_CONFIG_ADDRESS, 0x80000000u | bus << 16 | dev << 11 | fn << 8 | off);
	return inl(PCI_CONFIG_DATA);
}

static void cfg_write32(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint32_t v)
{
	off &= 0xffc;
	if (use_ecam(bus)) {
		*(volatile uint32_t *)ecam_ptr(bus, dev, fn, off) = v;
		return;
	}
	if (off >= 256)
		return;
	outl(PCI_CONFIG_ADDRESS, 0x80000000u | bus << 16 | dev << 11 | fn << 8 | off);
	outl(PCI_CONFIG_DATA, v);
}

uint32_t pci_read32(const struct pci_dev *d, unsigned off)
{
	return cfg_read32(d->bus, d->dev, d->fn, off);
}

uint16_t pci_read16(const struct pci_dev *d, unsigned off)
{
	return (uint16_t)(pci_read32(d, off) >> ((off & 2) * 8));
}

uint8_t pci_read8(const struct pci_dev *d, unsigned off)
{
	return (uint8_t)(pci_read32(d, off) >> ((off & 3) * 8));
}

/* A read-modify-write of the aligned dword; used only for COMMAND, whose
 * neighbour STATUS has write-1-to-clear bits, so those are written as 0. */
void pci_write16(const struct pci_dev *d, unsigned off, uint16_t v)
{
	uint32_t old = pci_read32(d, off);
	unsigned shift = (off & 2) * 8;
	if (off == PCI_COMMAND)
		old &= 0x0000ffff;
	old = (old & ~(0xffffu << shift)) | (uint32_t)v << shift;
	cfg_write32(d->bus, d->dev, d->fn, off, old);
}

unsigned pci_find_cap(const struct pci_dev *d, uint8_t id, unsigned from)
{
	if (!(pci_read16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	unsigned off = from ? pci_read8(d, from + 1) : pci_read8(d, PCI_CAP_PTR);
	/* 48 is the most capabilities that fit in 192 bytes; stop there. */
	for (int n = 0; n < 48 && off >= 0x40; n++) {
		off &= 0xfc;
		if (pci_read8(d, off) == id)
			return off;
		off = pci_read8(d, off + 1);
	}
	return 0;
}

/* Reads the BARs' addresses (no sizing: writing all-ones would disturb
 * devices hako leaves alone). */
static void read_bars(struct pci_dev *d)
{
	for (unsigned i = 0; i < 6; i++) {
		uint32_t lo = pci_read32(d, PCI_BAR0 + 4 * i);
		if (lo & PCI_BAR_IO) {
			d->bar[i] = lo & ~3u;
			d->bar_is_io[i] = 1;
			continue;
		}
		d->bar[i] = lo & ~0xfull;
		if ((lo & 6) == PCI_BAR_MEM_TYPE_64 && i < 5) {
			d->bar[i] |= (uint64_t)pci_read32(d, PCI_BAR0 + 4 * (i + 1)) << 32;
			i++;
		}
	}
}

static void record(unsigned bus, unsigned dev, unsigned fn, uint32_t id)
{
	if (pci_count == PCI_MAX_DEVS) {
		log_warn("pci: more than %d functions; %02x:%02x.%x and later ignored",
			 PCI_MAX_DEVS, bus, dev, fn);
		return;
	}
	struct pci_dev *d = &pci_devs[pci_count++];
	d->bus = bus, d->dev = dev, d->fn = fn;
	d->vendor = id & 0xffff, d->device = id >> 16;
	uint32_t cr = pci_read32(d, PCI_CLASS_REVISION);
	d->class_code = cr >> 24, d->subclass = cr >> 16, d->prog_if = cr >> 8;
	if ((pci_read8(d, PCI_HEADER_TYPE) & 0x7f) == 0)
		read_bars(d);
	d->msi_cap = pci_find_cap(d, PCI_CAP_ID_MSI, 0);
	d->msix_cap = pci_find_cap(d, PCI_CAP_ID_MSIX, 0);
	if (d->msix_cap)
		d->msix_vectors = (pci_read16(d, d->msix_cap + 2) & 0x7ff) + 1;
}

static void scan_bus(unsigned bus, int depth);

static void scan_fn(unsigned bus, unsigned dev, unsigned fn, int depth)
{
	uint32_t id = cfg_read32(bus, dev, fn, PCI_VENDOR_ID);
	if ((id & 0xffff) == 0xffff)
		return;
	record(bus, dev, fn, id);
	uint8_t hdr = (uint8_t)(cfg_read32(bus, dev, fn, PCI_HEADER_TYPE & ~3u) >> 16);
	if ((hdr & 0x7f) == 1) { /* PCI-to-PCI bridge: PCI-to-PCI Bridge Arch. 1.2 3.2 */
		unsigned sec = (cfg_read32(bus, dev, fn, 0x18) >> 8) & 0xff;
		if (sec > bus)
			scan_bus(sec, depth + 1);
	}
}

static void scan_bus(unsigned bus, int depth)
{
	if (depth > 32)
		return;
	for (unsigned dev = 0; dev < 32; dev++) {
		uint32_t id = cfg_read32(bus, dev, 0, PCI_VENDOR_ID);
		if ((id & 0xffff) == 0xffff)
			continue;
		uint8_t hdr = (uint8_t)(cfg_read32(bus, dev, 0, PCI_HEADER_TYPE & ~3u) >> 16);
		unsigned fns = (hdr & PCI_HEADER_MULTIFUNCTION) ? 8 : 1;
		for (unsigned fn = 0; fn < fns; fn++)
			scan_fn(bus, dev, fn, depth);
	}
}

/*
 * pci_init - finds every PCI function. `ecam` is the MCFG base for
 * segment 0 covering buses [bus_start, bus_end], or 0 to use port I/O.
 */
void pci_init(uint64_t ecam, unsigned bus_start, unsigned bus_end)
{
	if (ecam && bus_end >= bus_start &&
	    !paging_map_mmio(ecam, (uint64_t)(bus_end - bus_start + 1) << 20)) {
		ecam_base = ecam;
		ecam_bus_start = bus_start;
		ecam_bus_end = bus_end;
	}
	pci_count = 0;
	scan_bus(ecam_base ? bus_start : 0, 0);
	log_info("pci: %u functions (%s)", pci_count, ecam_base ? "ECAM" : "port I/O");
}

void pci_enable(struct pci_dev *d, const char *driver)
{
	uint16_t cmd = pci_read16(d, PCI_COMMAND);
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE;
	pci_write16(d, PCI_COMMAND, cmd);
	d->driver = driver;
}

void pci_addr_str(const struct pci_dev *d, char *buf, unsigned n)
{
	fmt_snprintf(buf, n, "%02x:%02x.%x", d->bus, d->dev, d->fn);
}
