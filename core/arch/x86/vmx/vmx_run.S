/* tv_vmx_run: RDI = GuestGprs*, ESI = launched; returns EAX.
 * Enters the guest with its general-purpose registers taken from *gprs and stores them back
 * at the VM exit; returns 0 then, or 1 when VMLAUNCH/VMRESUME (or setting up the host RIP and
 * RSP) failed, and the caller reads the VM-instruction error field.
 * Not a C function: it keeps only RBP (the frame pointer, which no asm may clobber); its
 * caller (VmxVcpu::run, inline asm) declares every other register clobbered, so the compiler
 * saves what it needs.
 *
 * The GuestGprs array doubles as a stack: the entry pops the registers out of it in encoding
 * order, and the host RSP that VMX loads at the exit points just past its end, so the exit
 * pushes them back in place. Its RSP slot is free (the guest's RSP lives in the VMCS), so it
 * carries the host's stack pointer across the guest's run. */
#define VMCS_HOST_RSP 0x6C14
#define VMCS_HOST_RIP 0x6C16
#define GPRS_SIZE (16 * 8)
#define RSP_SLOT (4 * 8)
    .text
    .global tv_vmx_run
tv_vmx_run:
    pushq %rbp
    movq %rsp, RSP_SLOT(%rdi)
    movq $VMCS_HOST_RSP, %rax
    leaq GPRS_SIZE(%rdi), %rdx
    vmwrite %rdx, %rax
    jbe .Lfail_on_host_stack
    movq $VMCS_HOST_RIP, %rax
    leaq .Lexit(%rip), %rdx
    vmwrite %rdx, %rax
    jbe .Lfail_on_host_stack

    testl %esi, %esi            /* neither POP nor LEA touches the flags */
    movq %rdi, %rsp
    popq %rax
    popq %rcx
    popq %rdx
    popq %rbx
    leaq 8(%rsp), %rsp          /* RSP slot */
    popq %rbp
    popq %rsi
    popq %rdi
    popq %r8
    popq %r9
    popq %r10
    popq %r11
    popq %r12
    popq %r13
    popq %r14
    popq %r15
    jnz 1f
    vmlaunch
    jmp 2f
1:  vmresume
2:  movq RSP_SLOT - GPRS_SIZE(%rsp), %rsp
.Lfail_on_host_stack:
    movl $1, %eax
    jmp .Lreturn

.Lexit:                         /* RSP = gprs + GPRS_SIZE, from the VMCS */
    pushq %r15
    pushq %r14
    pushq %r13
    pushq %r12
    pushq %r11
    pushq %r10
    pushq %r9
    pushq %r8
    pushq %rdi
    pushq %rsi
    pushq %rbp
    leaq -8(%rsp), %rsp         /* RSP slot: keeps the host stack pointer */
    pushq %rbx
    pushq %rdx
    pushq %rcx
    pushq %rax
    movq RSP_SLOT(%rsp), %rsp
    xorl %eax, %eax
.Lreturn:
    popq %rbp
    ret
    .section .note.GNU-stack, "", @progbits
