/* Pure helpers for the hand-off (see handoff.h). */
#include "handoff.h"

enum {
    E820_USABLE = 1,
    E820_RESERVED = 2,
    E820_ACPI = 3,
    E820_NVS = 4,
    E820_UNUSABLE = 5,
    E820_PMEM = 7,
};

uint32_t tv_efi_to_e820(uint32_t efi_type) {
    switch (efi_type) {
        case 1:  /* EfiLoaderCode */
        case 2:  /* EfiLoaderData */
        case 3:  /* EfiBootServicesCode */
        case 4:  /* EfiBootServicesData */
        case 7:  /* EfiConventionalMemory */
            return E820_USABLE;
        case 8: return E820_UNUSABLE;  /* EfiUnusableMemory */
        case 9: return E820_ACPI;      /* EfiACPIReclaimMemory */
        case 10: return E820_NVS;      /* EfiACPIMemoryNVS */
        case 14: return E820_PMEM;     /* EfiPersistentMemory */
        default:  /* reserved, runtime services, MMIO, PAL code, unaccepted, anything newer */
            return E820_RESERVED;
    }
}

int tv_memmap_append(struct tv_uefi_handoff *h, uint64_t base, uint64_t length, uint32_t type) {
    if (length == 0) return 1;
    if (h->memmap_count) {
        struct tv_uefi_mem_range *last = &h->memmap[h->memmap_count - 1];
        if (last->type == type && last->base + last->length == base) {
            last->length += length;
            return 1;
        }
    }
    if (h->memmap_count == TV_UEFI_MAX_MEMMAP) return 0;
    struct tv_uefi_mem_range *r = &h->memmap[h->memmap_count++];
    r->base = base;
    r->length = length;
    r->type = type;
    r->pad = 0;
    return 1;
}

static uint64_t byte(uint8_t const *d, int i, int shift) { return (uint64_t)d[i] << shift; }

int tv_decode_segment(uint8_t const *gdt, uint16_t gdt_limit, uint16_t selector, int system,
                      struct tv_uefi_segment *out) {
    uint32_t const index = selector & ~7u;
    out->selector = selector;
    out->attr = 0;
    out->limit = 0;
    out->base = 0;
    if (selector & 4) return 0;  /* TI: a local descriptor table; UEFI uses none */
    if (index == 0) return 1;    /* null selector: an unusable segment */
    if ((uint32_t)index + (system ? 15u : 7u) > gdt_limit) return 0;
    uint8_t const *d = gdt + index;
    uint32_t limit = (uint32_t)(byte(d, 0, 0) | byte(d, 1, 8) | ((uint64_t)(d[6] & 0x0F) << 16));
    if (d[6] & 0x80) limit = (limit << 12) | 0xFFF;  /* G: 4 KiB granularity */
    out->limit = limit;
    out->base = byte(d, 2, 0) | byte(d, 3, 8) | byte(d, 4, 16) | byte(d, 7, 24);
    if (system) out->base |= byte(d, 8, 32) | byte(d, 9, 40) | byte(d, 10, 48) | byte(d, 11, 56);
    out->attr = (uint16_t)(d[5] | ((d[6] >> 4) << 8));
    return 1;
}
