/* Checking thinvisor.elf and copying it into the monitor's region. The region's first byte
 * is physical link address TV_UEFI_IMAGE_LOAD_PHYS (boot/linker.ld), so a segment goes to
 * region + (p_paddr - TV_UEFI_IMAGE_LOAD_PHYS); the part of memsz past filesz is .bss and
 * is zeroed. Pure C without EFI headers (host unit tests build it too). */
#ifndef TV_ELF_IMAGE_H
#define TV_ELF_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define TV_ELF_MAX_SEGMENTS 8

#ifdef __cplusplus
extern "C" {
#endif

struct tv_elf_segment {
    uint64_t file_offset, file_size, mem_size;
    uint64_t region_offset; /* where it goes, from the region's base */
};

struct tv_elf_plan {
    struct tv_elf_segment seg[TV_ELF_MAX_SEGMENTS];
    unsigned count;
    uint64_t image_size; /* bytes of the region the segments cover, from its base */
    uint64_t entry;      /* the monitor's UEFI entry point (kernel-window virtual address) */
    uint64_t kernel_vma; /* virtual = kernel_vma + physical link address */
};

/* Validates the file as a thinvisor image for this loader's hand-off version that fits in
 * region_size bytes. Returns 0 with *plan filled, or a reason for the user. */
char const *tv_elf_check(void const *file, uint64_t file_len, uint64_t region_size, struct tv_elf_plan *plan);

/* Copies the segments to region (image_size bytes, zeroing .bss). */
void tv_elf_copy(void const *file, struct tv_elf_plan const *plan, void *region);

#ifdef __cplusplus
}
#endif

#endif
