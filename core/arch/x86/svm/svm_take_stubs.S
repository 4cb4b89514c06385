/* u32 tv_svm_take_interrupt(void const* take_idtr, void* host_idtr)
 * After an interrupt exit the physical interrupt is still pending. This takes it in the
 * monitor, through an IDT whose every gate only records its vector (tv_svm_take_stubs), so the
 * monitor learns the vector and injects it into the guest as a virtual interrupt: the
 * interrupt controller has acknowledged it exactly as if the guest had taken it, and the guest
 * ends it with its own EOI. GIF and IF open for one instruction (the STI shadow covers the NOP),
 * and the stub returns with IF clear, so at most one interrupt is taken. Returns the vector, or
 * 256 when none was pending any more. Runs with GIF=0 and IF=0, and leaves them so. */
    .text
    .global tv_svm_take_interrupt
tv_svm_take_interrupt:
    sidt (%rsi)
    lidt (%rdi)
    movl $256, %eax
    stgi
    sti
    nop
    cli
    clgi
    lidt (%rsi)
    ret

/* 256 stubs of 16 bytes each: push the vector, join the common tail. */
    .balign 16
    .global tv_svm_take_stubs
tv_svm_take_stubs:
    .set vec, 0
    .rept 256
    .balign 16
    pushq $vec
    jmp take_common
    .set vec, vec + 1
    .endr

take_common:
    popq %rax                  /* the vector: tv_svm_take_interrupt's return value */
    andq $~0x200, 16(%rsp)     /* return with IF clear (RFLAGS in the frame) */
    iretq
