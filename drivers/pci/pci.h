/*
 * drivers/pci/pci.h - PCI configuration space, enumeration, BARs and
 * capabilities (PCI Local Bus 3.0 ch. 6, PCI Express Base 4.0 7.2.2 ECAM).
 *
 * pci_init() walks every bus once and records each function in a table;
 * it only reads configuration space, so devices hako does not drive stay as
 * the firmware left them. A driver claims a device with pci_enable(), which
 * turns on memory decoding and bus mastering and turns legacy INTx off
 * (hako's service core polls).
 */
#ifndef HAKO_PCI_H
#define HAKO_PCI_H

#include <stdint.h>

#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define  PCI_COMMAND_IO (1u << 0)
#define  PCI_COMMAND_MEMORY (1u << 1)
#define  PCI_COMMAND_MASTER (1u << 2)
#define  PCI_COMMAND_INTX_DISABLE (1u << 10)
#define PCI_STATUS 0x06
#define  PCI_STATUS_CAP_LIST (1u << 4)
#define PCI_CLASS_REVISION 0x08
#define PCI_HEADER_TYPE 0x0e
#define  PCI_HEADER_MULTIFUNCTION 0x80
#define PCI_BAR0 0x10
#define  PCI_BAR_IO 0x1
#define  PCI_BAR_MEM_TYPE_64 0x4
#define PCI_SECONDARY_BUS 0x19
#define PCI_CAP_PTR 0x34

#define PCI_CAP_ID_MSI 0x05
#define PCI_CAP_ID_VNDR 0x09
#define PCI_CAP_ID_MSIX 0x11

#define PCI_MAX_DEVS 64

struct pci_dev {
	uint8_t bus, dev, fn;
	uint16_t vendor, device;
	uint8_t class_code, subclass, prog_if;
	uint64_t bar[6];      /* base address (memory or port), 0 if unused */
	uint8_t bar_is_io[6];
	uint8_t msi_cap;      /* config offset of the MSI capability, 0 if none */
	uint8_t msix_cap;     /* config offset of MSI-X, 0 if none */
	uint16_t msix_vectors;
	const char *driver;   /* name of the driver that claimed it, or 0 */
};

extern struct pci_dev pci_devs[PCI_MAX_DEVS];
extern unsigned pci_count;

/* Enumerates the buses (ECAM when `ecam` != 0, else ports 0xCF8/0xCFC). */
void pci_init(uint64_t ecam, unsigned bus_start, unsigned bus_end);

uint32_t pci_read32(const struct pci_dev *d, unsigned off);
uint16_t pci_read16(const struct pci_dev *d, unsigned off);
uint8_t pci_read8(const struct pci_dev *d, unsigned off);
void pci_write16(const struct pci_dev *d, unsigned off, uint16_t v);

/*
 * Offset of the first capability with `id` after offset `from` (0 = from
 * the start of the list), or 0. The walk is bounded, so a looping list in
 * a broken device cannot hang it.
 */
unsigned pci_find_cap(const struct pci_dev *d, uint8_t id, unsigned from);

/* Claims `d` for `driver`: memory decoding, bus mastering, INTx off. */
void pci_enable(struct pci_dev *d, const char *driver);

/* "BB:DD.F" into buf (at least 8 bytes). */
void pci_addr_str(const struct pci_dev *d, char *buf, unsigned n);

#endif
