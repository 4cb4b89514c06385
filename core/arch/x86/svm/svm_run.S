/* u64 tv_svm_run(u64 vmcb_pa, GuestGprs* gprs, u64 host_vmcb_pa)
 * Enters the guest with its general-purpose registers loaded from *gprs (RAX and RSP live in
 * the VMCB), and stores them back on #VMEXIT. VMLOAD/VMSAVE move the state VMRUN leaves
 * alone (FS/GS/TR/LDTR bases, SYSCALL MSRs); the host's copy is reloaded afterwards so
 * that monitor exceptions still find the monitor's TSS. */
#define G(n) (n * 8)(%rsi)
    .text
    .global tv_svm_run
tv_svm_run:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    pushq %rdx          /* host vmcb pa  at 8(%rsp) after the next push */
    pushq %rsi          /* gprs pointer  at 0(%rsp) */

    movq %rdi, %rax
    movq G(1), %rcx
    movq G(2), %rdx
    movq G(3), %rbx
    movq G(5), %rbp
    movq G(7), %rdi
    movq G(8), %r8
    movq G(9), %r9
    movq G(10), %r10
    movq G(11), %r11
    movq G(12), %r12
    movq G(13), %r13
    movq G(14), %r14
    movq G(15), %r15
    movq G(6), %rsi

    clgi
    sti                 /* GIF=0 holds interrupts; host IF=1 only matters with V_INTR_MASKING */
    vmload
    vmrun
    vmsave
    cli

    pushq %rsi
    movq 8(%rsp), %rsi
    movq %rcx, G(1)
    movq %rdx, G(2)
    movq %rbx, G(3)
    movq %rbp, G(5)
    movq %rdi, G(7)
    movq %r8, G(8)
    movq %r9, G(9)
    movq %r10, G(10)
    movq %r11, G(11)
    movq %r12, G(12)
    movq %r13, G(13)
    movq %r14, G(14)
    movq %r15, G(15)
    popq %rax
    movq %rax, G(6)

    popq %rsi
    popq %rax           /* host vmcb pa */
    vmload
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    ret
