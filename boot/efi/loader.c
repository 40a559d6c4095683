/*
 * boot/efi/loader.c - hako's UEFI boot loader (EFI/BOOT/BOOTX64.EFI).
 *
 * Runs as an ordinary UEFI application: it reads the kernel ELF from
 * \EFI\hako\kernel.elf and every file under \hako\ on the volume it was
 * started from, finds the ACPI RSDP in the system configuration table,
 * builds the page tables described in vmm/core/bootinfo.h, fills struct
 * boot_info, calls ExitBootServices() and jumps to the kernel. It never
 * returns to the firmware after that and the kernel never calls it.
 *
 * UEFI 2.x references: 7.2 (AllocatePages, GetMemoryMap), 7.4
 * (ExitBootServices), 13.4/13.5 (Simple File System, File Protocol),
 * 4.6 (configuration table, ACPI GUIDs).
 */
#include <efi.h>
#include <efilib.h>

#include "vmm/core/bootinfo.h"
#include "vmm/core/lib/elf64.h"

/* UEFI lets an OS define its own memory types from 0x80000000 (UEFI 7.2). */
#define HAKO_MEMORY_TYPE ((EFI_MEMORY_TYPE)0x80000001u)

#define PAGE_4K 4096ull
#define PAGE_2M (2ull << 20)
#define PAGE_1G (1ull << 30)
#define PTE_P 0x1ull
#define PTE_W 0x2ull
#define PTE_PS 0x80ull

static EFI_HANDLE g_image;
static struct boot_info *g_bi;

static void fail(CHAR16 *what, EFI_STATUS st)
{
	Print(L"hako loader: %s: %r\n", what, st);
	Print(L"hako loader: cannot continue; fix the boot medium and reboot.\n");
	for (;;)
		__asm__ volatile("hlt");
}

static void *alloc_pages(UINTN bytes, EFI_MEMORY_TYPE type)
{
	EFI_PHYSICAL_ADDRESS addr = 0;
	UINTN pages = (bytes + PAGE_4K - 1) / PAGE_4K;
	EFI_STATUS st = BS->AllocatePages(AllocateAnyPages, type, pages, &addr);

	if (EFI_ERROR(st))
		fail(L"out of memory", st);
	SetMem((void *)addr, pages * PAGE_4K, 0);
	return (void *)addr;
}

/* Reads a whole open file into fresh hako-typed pages. */
static void *read_whole(EFI_FILE_HANDLE f, UINT64 size)
{
	void *buf = alloc_pages(size ? size : 1, HAKO_MEMORY_TYPE);
	UINTN got = size;
	EFI_STATUS st = f->Read(f, &got, buf);

	if (EFI_ERROR(st) || got != size)
		fail(L"read error", st);
	return buf;
}

static EFI_FILE_INFO *file_info(EFI_FILE_HANDLE f)
{
	EFI_FILE_INFO *info = LibFileInfo(f);

	if (!info)
		fail(L"cannot stat file", EFI_DEVICE_ERROR);
	return info;
}

/* Loads the kernel ELF's PT_LOAD segments into one 2 MiB-aligned block. */
static UINT64 load_kernel(EFI_FILE_HANDLE root, UINT64 *entry)
{
	EFI_FILE_HANDLE f;
	EFI_STATUS st = root->Open(root, &f, L"\\EFI\\hako\\kernel.elf",
				   EFI_FILE_MODE_READ, 0);
	if (EFI_ERROR(st))
		fail(L"cannot open \\EFI\\hako\\kernel.elf", st);
	EFI_FILE_INFO *info = file_info(f);
	UINT8 *elf = read_whole(f, info->FileSize);
	UINT64 fsize = info->FileSize;
	FreePool(info);
	f->Close(f);

	struct elf64_ehdr *eh = (struct elf64_ehdr *)elf;
	if (fsize < sizeof(*eh) || *(UINT32 *)eh->e_ident != ELF_MAGIC ||
	    eh->e_machine != EM_X86_64 ||
	    eh->e_phoff + (UINT64)eh->e_phnum * sizeof(struct elf64_phdr) > fsize)
		fail(L"kernel.elf is not an x86-64 ELF", EFI_LOAD_ERROR);

	struct elf64_phdr *ph = (struct elf64_phdr *)(elf + eh->e_phoff);
	UINT64 top = 0;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_vaddr < KERNEL_VBASE ||
		    ph[i].p_offset + ph[i].p_filesz > fsize)
			fail(L"kernel.elf has a bad segment", EFI_LOAD_ERROR);
		if (ph[i].p_vaddr + ph[i].p_memsz - KERNEL_VBASE > top)
			top = ph[i].p_vaddr + ph[i].p_memsz - KERNEL_VBASE;
	}
	top = (top + PAGE_4K - 1) & ~(PAGE_4K - 1);
	UINT8 *raw = alloc_pages(top + PAGE_2M, HAKO_MEMORY_TYPE);
	UINT8 *base = (UINT8 *)(((UINT64)raw + PAGE_2M - 1) & ~(PAGE_2M - 1));
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		CopyMem(base + (ph[i].p_vaddr - KERNEL_VBASE),
			elf + ph[i].p_offset, ph[i].p_filesz);
	}
	g_bi->kernel_phys = (UINT64)base;
	g_bi->kernel_size = top;
	*entry = eh->e_entry;
	/* The ELF file image itself is no longer needed. */
	BS->FreePages((EFI_PHYSICAL_ADDRESS)elf, (fsize + PAGE_4K - 1) / PAGE_4K);
	return (UINT64)base;
}

static void add_file(const char *name, EFI_FILE_HANDLE f, UINT64 size)
{
	if (g_bi->file_count >= BOOT_FILES_MAX) {
		Print(L"hako loader: more than %d files under \\hako\\, skipping %a\n",
		      BOOT_FILES_MAX, name);
		return;
	}
	struct boot_file *bf = &g_bi->files[g_bi->file_count++];
	for (int i = 0; i < BOOT_FILE_NAME_MAX - 1 && name[i]; i++)
		bf->name[i] = name[i];
	bf->phys = (UINT64)read_whole(f, size);
	bf->size = size;
}

/* Loads every regular file below `dir`, recursing into subfolders. */
static void load_folder(EFI_FILE_HANDLE dir, const char *prefix, int depth)
{
	UINTN bufsize = sizeof(EFI_FILE_INFO) + 512 * sizeof(CHAR16);
	EFI_FILE_INFO *info = AllocatePool(bufsize);

	for (;;) {
		UINTN n = bufsize;
		EFI_STATUS st = dir->Read(dir, &n, info);
		if (EFI_ERROR(st) || n == 0)
			break;
		char name[BOOT_FILE_NAME_MAX];
		int len = 0;
		for (int i = 0; prefix[i] && len < BOOT_FILE_NAME_MAX - 1; i++)
			name[len++] = prefix[i];
		for (int i = 0; info->FileName[i] && len < BOOT_FILE_NAME_MAX - 1; i++) {
			CHAR16 c = info->FileName[i];
			name[len++] = c < 0x80 ? (char)c : '?';
		}
		name[len] = 0;
		if (info->FileName[0] == L'.')
			continue;
		EFI_FILE_HANDLE f;
		if (EFI_ERROR(dir->Open(dir, &f, info->FileName, EFI_FILE_MODE_READ, 0)))
			continue;
		if (info->Attribute & EFI_FILE_DIRECTORY) {
			if (depth < 4 && len < BOOT_FILE_NAME_MAX - 2) {
				name[len++] = '/';
				name[len] = 0;
				load_folder(f, name, depth + 1);
			}
		} else {
			add_file(name, f, info->FileSize);
		}
		f->Close(f);
	}
	FreePool(info);
}

static void find_rsdp(void)
{
	EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;

	for (UINTN i = 0; i < ST->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];
		if (!CompareGuid(&t->VendorGuid, &acpi20)) {
			g_bi->acpi_rsdp = (UINT64)t->VendorTable;
			return;
		}
		if (!CompareGuid(&t->VendorGuid, &acpi10))
			g_bi->acpi_rsdp = (UINT64)t->VendorTable;
	}
}

static UINT32 fold_type(UINT32 t)
{
	if (t >= 0x80000000u)
		return BOOT_MEM_HAKO;
	switch (t) {
	case EfiLoaderCode:
	case EfiLoaderData:
	case EfiBootServicesCode:
	case EfiBootServicesData:
	case EfiConventionalMemory:
		return BOOT_MEM_USABLE;
	case EfiACPIReclaimMemory:
		return BOOT_MEM_ACPI_RECLAIM;
	case EfiACPIMemoryNVS:
		return BOOT_MEM_ACPI_NVS;
	case EfiRuntimeServicesCode:
	case EfiRuntimeServicesData:
		return BOOT_MEM_FIRMWARE;
	case EfiMemoryMappedIO:
	case EfiMemoryMappedIOPortSpace:
		return BOOT_MEM_MMIO;
	default:
		return BOOT_MEM_RESERVED;
	}
}

/* Converts the final UEFI map; runs after ExitBootServices, so no calls. */
static void convert_map(UINT8 *map, UINTN size, UINTN desc_size)
{
	g_bi->mem_count = 0;
	for (UINTN off = 0; off + desc_size <= size; off += desc_size) {
		EFI_MEMORY_DESCRIPTOR *d = (EFI_MEMORY_DESCRIPTOR *)(map + off);
		UINT32 type = fold_type(d->Type);
		UINT64 len = d->NumberOfPages * PAGE_4K;
		struct boot_mem_range *last =
			g_bi->mem_count ? &g_bi->mem[g_bi->mem_count - 1] : 0;
		if (last && last->type == type && last->base + last->length == d->PhysicalStart) {
			last->length += len;
			continue;
		}
		if (g_bi->mem_count == BOOT_MEM_RANGES_MAX)
			continue; /* cannot report; the kernel treats it as absent */
		g_bi->mem[g_bi->mem_count].base = d->PhysicalStart;
		g_bi->mem[g_bi->mem_count].length = len;
		g_bi->mem[g_bi->mem_count].type = type;
		g_bi->mem_count++;
	}
}

static UINT64 map_top(UINT8 *map, UINTN size, UINTN desc_size)
{
	UINT64 top = 4 * PAGE_1G;
	for (UINTN off = 0; off + desc_size <= size; off += desc_size) {
		EFI_MEMORY_DESCRIPTOR *d = (EFI_MEMORY_DESCRIPTOR *)(map + off);
		UINT64 end = d->PhysicalStart + d->NumberOfPages * PAGE_4K;
		if (fold_type(d->Type) != BOOT_MEM_MMIO && end > top)
			top = end;
	}
	top = (top + PAGE_1G - 1) & ~(PAGE_1G - 1);
	return top > 512 * PAGE_1G ? 512 * PAGE_1G : top;
}

/* Identity map [0, top) with 2 MiB pages and the kernel at KERNEL_VBASE. */
static UINT64 *build_tables(UINT64 top, UINT64 kphys, UINT64 ksize)
{
	UINT64 npd = top / PAGE_1G;
	UINT64 *pml4 = alloc_pages(PAGE_4K, HAKO_MEMORY_TYPE);
	UINT64 *pdpt = alloc_pages(PAGE_4K, HAKO_MEMORY_TYPE);
	UINT64 *pds = alloc_pages(npd * PAGE_4K, HAKO_MEMORY_TYPE);
	UINT64 *kpdpt = alloc_pages(PAGE_4K, HAKO_MEMORY_TYPE);
	UINT64 *kpd = alloc_pages(PAGE_4K, HAKO_MEMORY_TYPE);

	for (UINT64 i = 0; i < npd * 512; i++)
		pds[i] = (i * PAGE_2M) | PTE_P | PTE_W | PTE_PS;
	for (UINT64 i = 0; i < npd; i++)
		pdpt[i] = (UINT64)&pds[i * 512] | PTE_P | PTE_W;
	pml4[0] = (UINT64)pdpt | PTE_P | PTE_W;
	/* KERNEL_VBASE = PML4 slot 511, PDPT slot 510 (SDM 4.5). */
	for (UINT64 off = 0; off < ksize && off / PAGE_2M < 512; off += PAGE_2M)
		kpd[off / PAGE_2M] = (kphys + off) | PTE_P | PTE_W | PTE_PS;
	kpdpt[510] = (UINT64)kpd | PTE_P | PTE_W;
	pml4[511] = (UINT64)kpdpt | PTE_P | PTE_W;
	return pml4;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	UINT64 tsc0 = 0;
	UINT32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	tsc0 = ((UINT64)hi << 32) | lo;

	InitializeLib(image, systab);
	g_image = image;
	Print(L"hako loader: starting\n");

	g_bi = alloc_pages(sizeof(*g_bi), HAKO_MEMORY_TYPE);
	g_bi->magic = BOOT_INFO_MAGIC;
	g_bi->version = BOOT_INFO_VERSION;
	g_bi->size = sizeof(*g_bi);
	g_bi->loader_tsc = tsc0;
	CopyMem(g_bi->loader_name, "hako-efi", 9);

	EFI_LOADED_IMAGE *li;
	EFI_STATUS st = BS->HandleProtocol(image, &LoadedImageProtocol, (void **)&li);
	if (EFI_ERROR(st))
		fail(L"no loaded-image protocol", st);
	EFI_FILE_HANDLE root = LibOpenRoot(li->DeviceHandle);
	if (!root)
		fail(L"cannot open the boot volume", EFI_NOT_FOUND);

	UINT64 entry;
	UINT64 kphys = load_kernel(root, &entry);
	EFI_FILE_HANDLE dir;
	if (!EFI_ERROR(root->Open(root, &dir, L"\\hako", EFI_FILE_MODE_READ, 0))) {
		load_folder(dir, "", 0);
		dir->Close(dir);
	}
	find_rsdp();
	Print(L"hako loader: kernel at 0x%lx, %d files, handing over\n", kphys,
	      g_bi->file_count);

	/* Size the map buffer with slack: the tables below change the map. */
	UINTN map_size = 0, key, desc_size;
	UINT32 desc_ver;
	BS->GetMemoryMap(&map_size, NULL, &key, &desc_size, &desc_ver);
	UINTN buf_size = map_size + 64 * desc_size;
	UINT8 *map = alloc_pages(buf_size, EfiLoaderData);
	map_size = buf_size;
	st = BS->GetMemoryMap(&map_size, (EFI_MEMORY_DESCRIPTOR *)map, &key,
			      &desc_size, &desc_ver);
	if (EFI_ERROR(st))
		fail(L"GetMemoryMap", st);
	UINT64 top = map_top(map, map_size, desc_size);
	UINT64 *pml4 = build_tables(top, kphys, g_bi->kernel_size);
	g_bi->identity_top = top;

	/* UEFI 7.4: the key must match the latest map; retry once it moved. */
	for (int tries = 0;; tries++) {
		map_size = buf_size;
		st = BS->GetMemoryMap(&map_size, (EFI_MEMORY_DESCRIPTOR *)map,
				      &key, &desc_size, &desc_ver);
		if (!EFI_ERROR(st))
			st = BS->ExitBootServices(image, key);
		if (!EFI_ERROR(st))
			break;
		if (tries == 8)
			fail(L"ExitBootServices", st);
	}
	convert_map(map, map_size, desc_size);

	__asm__ volatile("cli\n\t"
			 "mov %0, %%cr3\n\t"
			 "jmp *%1"
			 :
			 : "r"(pml4), "r"(entry), "D"(g_bi)
			 : "memory");
	return EFI_SUCCESS; /* not reached */
}
