/* void tv_relocate(u64 src_phys, u64 dst_phys, u64 len, u64 new_cr3)
 * Copies the running image (through the boot identity map) and switches to page tables
 * that map the same virtual addresses onto the copy. No stack writes happen between the
 * copy and the switch, so the stack (inside the image) resumes intact in the copy. */
    .text
    .global tv_relocate
tv_relocate:
    movq %rcx, %r8
    movq %rdx, %rcx
    xchgq %rdi, %rsi
    cld
    rep movsb
    movq %r8, %cr3
    ret
