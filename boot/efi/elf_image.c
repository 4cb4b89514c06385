/* thinvisor.elf checks and copy (see elf_image.h). Every field read from the file is
 * bounds-checked before use: the file comes from a FAT partition anyone can write. */
#include "elf_image.h"

#include <string.h>

#include "thinvisor/uefi_handoff.h"

enum {
    EI_CLASS_64 = 2,
    EI_DATA_LSB = 1,
    ET_EXEC = 2,
    EM_X86_64 = 62,
    PT_LOAD = 1,
    HEADER_SCAN = 8192, /* the image header sits in the first 8 KiB, like a multiboot header */
};

struct elf64_ehdr {
    unsigned char ident[16];
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff, shoff;
    uint32_t flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
_Static_assert(sizeof(struct elf64_ehdr) == 64, "ELF64 header layout");

struct elf64_phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};
_Static_assert(sizeof(struct elf64_phdr) == 56, "ELF64 program header layout");

/* a + b <= limit, without overflow. */
static int fits(uint64_t a, uint64_t b, uint64_t limit) { return a <= limit && b <= limit - a; }

static char const *check_header(struct elf64_ehdr const *h, uint64_t len) {
    if (len < sizeof *h || h->ident[0] != 0x7F || h->ident[1] != 'E' || h->ident[2] != 'L' || h->ident[3] != 'F')
        return "not an ELF file";
    if (h->ident[4] != EI_CLASS_64 || h->ident[5] != EI_DATA_LSB || h->machine != EM_X86_64)
        return "not a 64-bit x86 ELF file";
    if (h->type != ET_EXEC) return "not an ELF executable";
    if (h->phentsize != sizeof(struct elf64_phdr) || h->phnum == 0 ||
        !fits(h->phoff, (uint64_t)h->phnum * sizeof(struct elf64_phdr), len))
        return "its program headers are missing or lie outside the file";
    return 0;
}

static char const *add_segment(struct elf64_phdr const *p, uint64_t len, uint64_t region_size,
                               struct tv_elf_plan *plan) {
    if (plan->count == TV_ELF_MAX_SEGMENTS) return "it has too many loadable segments";
    if (p->filesz > p->memsz || !fits(p->offset, p->filesz, len))
        return "a segment extends past the end of the file (truncated?)";
    if (p->paddr < TV_UEFI_IMAGE_LOAD_PHYS || !fits(p->paddr - TV_UEFI_IMAGE_LOAD_PHYS, p->memsz, region_size))
        return "a segment lies outside the monitor's 32 MiB region";
    struct tv_elf_segment *s = &plan->seg[plan->count++];
    s->file_offset = p->offset;
    s->file_size = p->filesz;
    s->mem_size = p->memsz;
    s->region_offset = p->paddr - TV_UEFI_IMAGE_LOAD_PHYS;
    if (s->region_offset + s->mem_size > plan->image_size) plan->image_size = s->region_offset + s->mem_size;
    return 0;
}

/* The header is in the segment loaded at the region's base, 8-byte aligned. */
static char const *find_image_header(unsigned char const *file, struct tv_elf_plan *plan) {
    for (unsigned i = 0; i < plan->count; ++i) {
        struct tv_elf_segment const *s = &plan->seg[i];
        if (s->region_offset != 0) continue;
        uint64_t scan = s->file_size < HEADER_SCAN ? s->file_size : HEADER_SCAN;
        for (uint64_t off = 0; off + sizeof(struct tv_uefi_image_header) <= scan; off += 8) {
            struct tv_uefi_image_header h;
            memcpy(&h, file + s->file_offset + off, sizeof h);
            if (h.magic != TV_UEFI_IMAGE_MAGIC) continue;
            if (h.version != TV_UEFI_ABI_VERSION || h.handoff_size != TV_UEFI_HANDOFF_SIZE)
                return "it was built for another version of this loader (hand-off ABI mismatch)";
            uint64_t entry_offset = h.entry - h.kernel_vma - TV_UEFI_IMAGE_LOAD_PHYS;
            if (h.entry < h.kernel_vma + TV_UEFI_IMAGE_LOAD_PHYS || entry_offset >= plan->image_size)
                return "its UEFI entry point lies outside the image";
            plan->entry = h.entry;
            plan->kernel_vma = h.kernel_vma;
            return 0;
        }
    }
    return "it has no thinvisor UEFI image header (not a thinvisor monitor?)";
}

char const *tv_elf_check(void const *file, uint64_t file_len, uint64_t region_size, struct tv_elf_plan *plan) {
    struct elf64_ehdr h;
    memset(plan, 0, sizeof *plan);
    if (file_len < sizeof h) return "the file is too short to be an ELF file";
    memcpy(&h, file, sizeof h);
    char const *why = check_header(&h, file_len);
    for (unsigned i = 0; !why && i < h.phnum; ++i) {
        struct elf64_phdr p;
        memcpy(&p, (unsigned char const *)file + h.phoff + (uint64_t)i * sizeof p, sizeof p);
        if (p.type == PT_LOAD && p.memsz) why = add_segment(&p, file_len, region_size, plan);
    }
    if (!why && plan->count == 0) why = "it has no loadable segments";
    if (!why) why = find_image_header(file, plan);
    return why;
}

void tv_elf_copy(void const *file, struct tv_elf_plan const *plan, void *region) {
    unsigned char *dst = region;
    memset(dst, 0, plan->image_size);  /* .bss, and any gap between segments */
    for (unsigned i = 0; i < plan->count; ++i) {
        struct tv_elf_segment const *s = &plan->seg[i];
        memcpy(dst + s->region_offset, (unsigned char const *)file + s->file_offset, s->file_size);
    }
}
