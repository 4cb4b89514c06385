/* UEFI entry of the monitor (the multiboot entry is boot/multiboot.S).
 *
 * The GNU-EFI loader (boot/efi/) copies the image into its region, finds the header below
 * in the image's first segment and calls `entry` on bridge page tables: the firmware's
 * identity map plus this image's kernel window (include/thinvisor/uefi_handoff.h). The
 * entry itself is ordinary kernel-window code; no code runs at the region's physical
 * address, which the firmware may map non-executable. */
#include "thinvisor/uefi_handoff.h"

#define KERNEL_VMA 0xFFFFFFFF80000000

    .section .uefi_header, "a"
    .align 8
    .global tv_uefi_image_header
tv_uefi_image_header:
    .quad TV_UEFI_IMAGE_MAGIC
    .long TV_UEFI_ABI_VERSION
    .long TV_UEFI_HANDOFF_SIZE
    .quad tv_uefi_entry
    .quad KERNEL_VMA

/* u64 tv_uefi_entry(tv_uefi_handoff const* h), interrupts off, on the loader's stack.
 * The monitor runs on its own boot stack, which stays mapped when it switches to its own
 * page tables; the loader's stack is only needed again for a refusal, which returns. */
    .text
    .global tv_uefi_entry
tv_uefi_entry:
    movq %rsp, tv_uefi_loader_rsp(%rip)
    movabsq $tv_boot_stack_top, %rsp
    xorl %ebp, %ebp
    call tv_uefi_main           /* returns only when the monitor refuses: rax = status */
    movq tv_uefi_loader_rsp(%rip), %rsp
    ret

    .section .bss
    .align 8
tv_uefi_loader_rsp:
    .skip 8
