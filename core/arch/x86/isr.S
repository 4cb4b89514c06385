/* Exception entry stubs: push a uniform frame (see ExceptionFrame) and call C++. The monitor
 * never enables interrupts, so only the 32 exception vectors are wired (an NMI, vector 2,
 * can wake a halted CPU: idle_halt.S). */
    .text
.macro ISR_NOERR n
    .global tv_isr_\n
tv_isr_\n:
    pushq $0
    pushq $\n
    jmp isr_common
.endm
.macro ISR_ERR n
    .global tv_isr_\n
tv_isr_\n:
    pushq $\n
    jmp isr_common
.endm

ISR_NOERR 0
ISR_NOERR 1
ISR_NOERR 2
ISR_NOERR 3
ISR_NOERR 4
ISR_NOERR 5
ISR_NOERR 6
ISR_NOERR 7
ISR_ERR 8
ISR_NOERR 9
ISR_ERR 10
ISR_ERR 11
ISR_ERR 12
ISR_ERR 13
ISR_ERR 14
ISR_NOERR 15
ISR_NOERR 16
ISR_ERR 17
ISR_NOERR 18
ISR_NOERR 19
ISR_NOERR 20
ISR_ERR 21
ISR_NOERR 22
ISR_NOERR 23
ISR_NOERR 24
ISR_NOERR 25
ISR_NOERR 26
ISR_NOERR 27
ISR_NOERR 28
ISR_ERR 29
ISR_ERR 30
ISR_NOERR 31

isr_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi
    call tv_exception_entry   /* may rewrite frame->rip (fix-ups) */
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp
    iretq

    .section .rodata
    .global tv_isr_table
    .align 8
tv_isr_table:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad tv_isr_\n
    .endr

/* Fault-tolerant MSR access: a #GP at the labelled instruction resumes at the fix-up with
 * eax = 1 (see tv_exception_entry). */
    .text
    .global tv_rdmsr_safe, tv_rdmsr_safe_insn, tv_rdmsr_safe_fixup
tv_rdmsr_safe:              /* int tv_rdmsr_safe(u32 msr, u64* out) */
    movl %edi, %ecx
tv_rdmsr_safe_insn:
    rdmsr
    shlq $32, %rdx
    movl %eax, %eax
    orq %rdx, %rax
    movq %rax, (%rsi)
    xorl %eax, %eax
    ret
tv_rdmsr_safe_fixup:
    movl $1, %eax
    ret

    .global tv_wrmsr_safe, tv_wrmsr_safe_insn, tv_wrmsr_safe_fixup
tv_wrmsr_safe:              /* int tv_wrmsr_safe(u32 msr, u64 value) */
    movl %edi, %ecx
    movl %esi, %eax
    movq %rsi, %rdx
    shrq $32, %rdx
tv_wrmsr_safe_insn:
    wrmsr
    xorl %eax, %eax
    ret
tv_wrmsr_safe_fixup:
    movl $1, %eax
    ret
