/* Reading the running CPU for the hand-off, building the bridge page tables and entering
 * the monitor (trampoline.S). Runs in the firmware's context: CPL 0, long mode. */
#ifndef TV_CPU_CAPTURE_H
#define TV_CPU_CAPTURE_H

#include <stdint.h>

#include "thinvisor/uefi_handoff.h"

#define TV_BRIDGE_PAGES 3

/* Control registers, EFER, descriptor tables, segments (decoded from the GDT) and the
 * MSRs a VM entry loads. RIP, RSP and RFLAGS are filled by tv_efi_enter. Returns a reason
 * when the state cannot be handed over, else 0. */
char const *tv_capture_cpu(struct tv_uefi_cpu_state *c);

/* Writes bridge tables into `pages` (TV_BRIDGE_PAGES zeroed, identity-mapped 4 KiB pages):
 * the firmware's PML4 entries (its identity map) plus the image's kernel window onto the
 * region. Returns the CR3 value, or 0 when the window collides with the firmware's map. */
uint64_t tv_build_bridge(uint64_t *pages, uint64_t firmware_cr3, uint64_t region_base, uint64_t kernel_vma);

/* trampoline.S: records RIP/RSP/RFLAGS in resume[0..2] (h->cpu.rip, .rsp, .rflags), turns
 * interrupts off, switches to bridge_cr3 and calls entry(h). Returns 0 when it resumes as
 * the monitor's guest, or the monitor's refusal (tv_uefi_status) on the firmware's tables. */
uint64_t tv_efi_enter(struct tv_uefi_handoff *h, uint64_t bridge_cr3, uint64_t entry, uint64_t *resume);

#endif
