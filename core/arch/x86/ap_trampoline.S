/* The application processors' first code, never run in place: core/ap_boot.cpp copies it to
 * a page below 1 MiB (saved and restored around the bring-up) and patches the GDT pointer,
 * the far jump and the parameter block. A SIPI starts a CPU here in real mode at
 * segment page>>4, offset 0. It enables PAE and long mode on the monitor's own page tables
 * (which map this page 1:1 for the duration of the bring-up), clears CR0.CD/NW that INIT
 * set, and calls tv_ap_main(cpu) in the kernel window on its own stack. */
    .section .rodata.aptramp, "a"
    .code16
    .global tv_ap_tramp_start, tv_ap_tramp_end
    .global tv_ap_tramp_gdtr, tv_ap_tramp_farptr, tv_ap_tramp_gdt, tv_ap_tramp_long64
    .global tv_ap_tramp_cr3, tv_ap_tramp_efer, tv_ap_tramp_cr4, tv_ap_tramp_stack
    .global tv_ap_tramp_entry, tv_ap_tramp_cpu
tv_ap_tramp_start:
    cli
    cld
    movw %cs, %ax
    movw %ax, %ds
    lgdtl (tv_ap_tramp_gdtr - tv_ap_tramp_start)
    movl %cr4, %eax
    orl $0x20, %eax                 /* PAE */
    movl %eax, %cr4
    movl (tv_ap_tramp_cr3 - tv_ap_tramp_start), %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx          /* EFER: LME (+ NXE as the monitor's tables need) */
    movl (tv_ap_tramp_efer - tv_ap_tramp_start), %eax
    movl (tv_ap_tramp_efer + 4 - tv_ap_tramp_start), %edx
    wrmsr
    movl %cr0, %eax
    andl $0x9FFFFFFF, %eax          /* caches on: INIT left CD and NW set */
    orl $0x80000001, %eax           /* PE, PG */
    movl %eax, %cr0
    ljmpl *(tv_ap_tramp_farptr - tv_ap_tramp_start)

    .code64
tv_ap_tramp_long64:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
    movq tv_ap_tramp_cr4(%rip), %rax
    movq %rax, %cr4
    movq tv_ap_tramp_stack(%rip), %rsp
    movl tv_ap_tramp_cpu(%rip), %edi
    movq tv_ap_tramp_entry(%rip), %rax
    call *%rax
1:  hlt
    jmp 1b

    .balign 8
tv_ap_tramp_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF        /* 0x08: 64-bit code */
    .quad 0x00CF92000000FFFF        /* 0x10: data */
tv_ap_tramp_gdtr:
    .word 23
    .long 0                         /* patched: physical address of the GDT */
    .balign 4
tv_ap_tramp_farptr:
    .long 0                         /* patched: physical address of tv_ap_tramp_long64 */
    .word 0x08
    .balign 8
tv_ap_tramp_cr3:   .quad 0
tv_ap_tramp_efer:  .quad 0
tv_ap_tramp_cr4:   .quad 0
tv_ap_tramp_stack: .quad 0
tv_ap_tramp_entry: .quad 0
tv_ap_tramp_cpu:   .long 0
tv_ap_tramp_end:
