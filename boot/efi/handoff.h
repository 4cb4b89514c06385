/* The pure parts of filling a tv_uefi_handoff: UEFI memory types to E820 types, the merged
 * range list, and segment registers decoded from the GDT. No EFI headers and no privileged
 * instructions, so the host unit tests build it too (cpu_capture.c reads the CPU). */
#ifndef TV_HANDOFF_H
#define TV_HANDOFF_H

#include <stdint.h>

#include "thinvisor/uefi_handoff.h"

#ifdef __cplusplus
extern "C" {
#endif

/* UEFI memory type (EFI_MEMORY_TYPE) -> E820 type, as the OS will see it once boot
 * services are gone: loader and boot-services memory becomes usable RAM. */
uint32_t tv_efi_to_e820(uint32_t efi_type);

/* Appends [base, base + length) of E820 type to h->memmap, merged with the previous range
 * when they touch and share the type. Returns 0 when the list is full. */
int tv_memmap_append(struct tv_uefi_handoff *h, uint64_t base, uint64_t length, uint32_t type);

/* Decodes the descriptor `selector` names in the GDT at gdt (limit as in GDTR). system: a
 * 16-byte long-mode system descriptor (TR, LDTR). A null selector gives attr 0 (unusable).
 * Returns 0 when the selector points past the GDT's limit or into an LDT. */
int tv_decode_segment(uint8_t const *gdt, uint16_t gdt_limit, uint16_t selector, int system,
                      struct tv_uefi_segment *out);

#ifdef __cplusplus
}
#endif

#endif
