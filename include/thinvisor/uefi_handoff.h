/* thinvisor UEFI hand-off ABI, shared by the GNU-EFI loader (boot/efi, C) and the monitor
 * (core/boot_uefi.cpp, C++).
 *
 * The loader copies thinvisor.elf into a 32 MiB, 2 MiB aligned EfiReservedMemoryType
 * region, finds the image header below in its first segment, fills a tv_uefi_handoff with
 * the state of the running CPU, the memory map and the boot modules, switches to bridge
 * page tables (the firmware's identity map plus the monitor's kernel window) and calls
 * the header's entry point:
 *
 *     uint64_t entry(struct tv_uefi_handoff const *h);   System V ABI, interrupts off
 *
 * On success the call never returns: the monitor virtualizes the CPU and the first guest
 * instruction is h->cpu.rip with h->cpu's state (the loader carries on as the guest). A
 * return means the monitor refused to start; the value is a tv_uefi_status and the CPU is
 * as it was, on the bridge tables. All addresses are physical (= firmware virtual).
 */
#ifndef THINVISOR_UEFI_HANDOFF_H
#define THINVISOR_UEFI_HANDOFF_H

/* Constants first: boot/uefi_entry.S includes this file with __ASSEMBLY__ defined. */
#define TV_UEFI_IMAGE_MAGIC 0x5244484946455654   /* "TVEFIHDR" */
#define TV_UEFI_HANDOFF_MAGIC 0x46464f444e415654 /* "TVANDOFF" */
#define TV_UEFI_ABI_VERSION 1
#define TV_UEFI_HANDOFF_SIZE 4312 /* sizeof(struct tv_uefi_handoff), checked below */
#define TV_UEFI_IMAGE_LOAD_PHYS 0x200000 /* link address of the image's first byte */
#define TV_UEFI_REGION_SIZE (32 << 20)
#define TV_UEFI_REGION_ALIGN (2 << 20)
#define TV_UEFI_MAX_MODULES 8
#define TV_UEFI_MAX_MEMMAP 128 /* E820-typed ranges, after merging neighbours */
#define TV_UEFI_CMDLINE_LEN 256
#define TV_UEFI_MODULE_NAME_LEN 64

#ifndef __ASSEMBLY__
#include <stdint.h>

/* In the image's first PT_LOAD segment, 8-byte aligned, within its first 8 KiB. */
struct tv_uefi_image_header {
    uint64_t magic;       /* TV_UEFI_IMAGE_MAGIC */
    uint32_t version;     /* TV_UEFI_ABI_VERSION */
    uint32_t handoff_size; /* sizeof(struct tv_uefi_handoff) the image was built with */
    uint64_t entry;       /* virtual address of the entry point (kernel window) */
    uint64_t kernel_vma;  /* virtual = kernel_vma + physical link address */
};

/* A segment register as the CPU holds it. attr uses the compressed layout of an AMD VMCB
 * (and of thinvisor's vendor-neutral Segment): bits 0-7 = descriptor bits 40-47 (type, S,
 * DPL, P), bits 8-11 = descriptor bits 52-55 (AVL, L, D/B, G). attr 0 = null/unusable. */
struct tv_uefi_segment {
    uint16_t selector;
    uint16_t attr;
    uint32_t limit; /* byte granular (G already applied) */
    uint64_t base;
};

struct tv_uefi_table_reg {
    uint64_t base;
    uint16_t limit;
    uint16_t pad[3];
};

enum tv_uefi_segment_index { TV_SEG_ES, TV_SEG_CS, TV_SEG_SS, TV_SEG_DS, TV_SEG_FS, TV_SEG_GS,
                             TV_SEG_LDTR, TV_SEG_TR, TV_SEG_COUNT };

/* The state the guest resumes in. General-purpose registers other than RSP start at zero
 * (the loader's resume path restores what it needs from its stack). */
struct tv_uefi_cpu_state {
    uint64_t cr0, cr3, cr4, efer;
    uint64_t rip, rsp, rflags;
    struct tv_uefi_table_reg gdtr, idtr;
    struct tv_uefi_segment seg[TV_SEG_COUNT]; /* FS and GS carry the MSR bases */
    uint64_t kernel_gs_base, pat;
    uint64_t star, lstar, cstar, sfmask;
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
};

/* E820 type numbers: 1 usable, 2 reserved, 3 ACPI reclaimable, 4 ACPI NVS, 5 unusable. */
struct tv_uefi_mem_range {
    uint64_t base, length;
    uint32_t type, pad;
};

struct tv_uefi_module {
    uint64_t start, end; /* physical, loader memory: the monitor copies it before returning */
    char name[TV_UEFI_MODULE_NAME_LEN]; /* NUL-terminated file name, e.g. "thinvisor.conf" */
};

struct tv_uefi_handoff {
    uint64_t magic;   /* TV_UEFI_HANDOFF_MAGIC */
    uint32_t version; /* TV_UEFI_ABI_VERSION */
    uint32_t size;    /* sizeof(struct tv_uefi_handoff) */
    uint64_t region_base, region_size; /* where the image was copied: 2 MiB aligned, 32 MiB */
    uint64_t acpi_rsdp;     /* from the EFI configuration table; 0 if none */
    uint64_t system_table;  /* EFI_SYSTEM_TABLE, for the log only */
    char cmdline[TV_UEFI_CMDLINE_LEN];
    uint32_t module_count, memmap_count;
    struct tv_uefi_module modules[TV_UEFI_MAX_MODULES];
    struct tv_uefi_mem_range memmap[TV_UEFI_MAX_MEMMAP];
    struct tv_uefi_cpu_state cpu;
};

enum tv_uefi_status {
    TV_UEFI_REFUSED_HANDOFF = 1, /* the hand-off is malformed or from another version */
    TV_UEFI_REFUSED_CPU = 2,     /* the CPU cannot run the guest protected */
    TV_UEFI_REFUSED_IMAGE = 3,   /* the image is broken (static constructors, too large) */
};

#ifdef __cplusplus
#define TV_STATIC_ASSERT static_assert
#else
#define TV_STATIC_ASSERT _Static_assert
#endif
TV_STATIC_ASSERT(sizeof(struct tv_uefi_image_header) == 32, "image header layout");
TV_STATIC_ASSERT(sizeof(struct tv_uefi_segment) == 16, "segment layout");
TV_STATIC_ASSERT(sizeof(struct tv_uefi_table_reg) == 16, "table register layout");
TV_STATIC_ASSERT(sizeof(struct tv_uefi_cpu_state) == 7 * 8 + 2 * 16 + 8 * 16 + 9 * 8, "cpu state layout");
TV_STATIC_ASSERT(sizeof(struct tv_uefi_mem_range) == 24, "memory range layout");
TV_STATIC_ASSERT(sizeof(struct tv_uefi_module) == 80, "module layout");
TV_STATIC_ASSERT(sizeof(struct tv_uefi_handoff) ==
                     48 + TV_UEFI_CMDLINE_LEN + 8 + TV_UEFI_MAX_MODULES * 80 + TV_UEFI_MAX_MEMMAP * 24 +
                         sizeof(struct tv_uefi_cpu_state),
                 "hand-off layout");
TV_STATIC_ASSERT(sizeof(struct tv_uefi_handoff) == TV_UEFI_HANDOFF_SIZE, "hand-off size constant");
#undef TV_STATIC_ASSERT
#endif /* __ASSEMBLY__ */

#endif
