/* uint64_t tv_efi_enter(struct tv_uefi_handoff *h, uint64_t bridge_cr3, uint64_t entry,
 *                       uint64_t *resume)                       (System V ABI)
 *
 * The one place where the loader hands the CPU over. It saves what its caller expects to
 * survive on the loader's stack, records where the guest resumes (resume[0] = RIP,
 * [1] = RSP, [2] = RFLAGS) and calls the monitor on the bridge tables. This code is in the
 * loader's image, mapped by the firmware's identity map and therefore by the bridge
 * tables too; the monitor's first VMRUN continues at tv_efi_resume with the firmware's
 * page tables, so both exits from here see the same stack. */
    .text
    .globl tv_efi_enter
tv_efi_enter:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    pushfq
    movq (%rsp), %rax
    movq %rax, 16(%rcx)         /* RFLAGS: the guest resumes with interrupts as they were */
    movq %rsp, 8(%rcx)          /* RSP: pointing at the saved flags and registers */
    leaq tv_efi_resume(%rip), %rax
    movq %rax, 0(%rcx)
    cli
    movq %cr3, %r12             /* the firmware's tables, should the monitor refuse */
    movq %rsi, %cr3
    call *%rdx                  /* rdi = h; a System V callee keeps r12 */
    movq %r12, %cr3             /* refused: rax = tv_uefi_status */
    jmp 1f

    .globl tv_efi_resume
tv_efi_resume:                  /* the first instruction the monitor runs as its guest */
    xorl %eax, %eax
1:  popfq
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    ret
    .section .note.GNU-stack, "", @progbits
