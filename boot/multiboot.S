/* Multiboot v1 entry. The a.out kludge (flags bit 16) makes QEMU's -kernel accept this ELF64
 * file and GRUB's `multiboot` load it the same way. This code runs identity-mapped at its
 * load address in 32-bit protected mode, builds temporary page tables (identity 0-4 GiB plus
 * the kernel window at -2 GiB) and enters long mode; everything after that is C++. */

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS ((1 << 0) | (1 << 1) | (1 << 16))
#define KERNEL_VMA 0xFFFFFFFF80000000

    .section .multiboot, "a"
    .align 4
mb_header:
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)
    .long mb_header           /* header_addr */
    .long __image_phys_start  /* load_addr */
    .long __load_end_phys     /* load_end_addr */
    .long __bss_end_phys      /* bss_end_addr */
    .long mb_entry            /* entry_addr */

    .section .boot.text, "ax"
    .code32
    .global mb_entry
mb_entry:
    cli
    cld
    movl %eax, boot_mb_magic
    movl %ebx, boot_mb_info
    movl $boot_stack_top, %esp

    /* Long mode is a hard requirement: say so on both serial ports instead of faulting. */
    movl $0x80000000, %eax
    cpuid
    cmpl $0x80000001, %eax
    jb no_long_mode
    movl $0x80000001, %eax
    cpuid
    btl $29, %edx
    jnc no_long_mode

    /* boot_pd: 4 page directories of 2 MiB pages covering 0-4 GiB. */
    movl $boot_pd, %edi
    xorl %ecx, %ecx
1:  movl %ecx, %eax
    shll $21, %eax
    orl $0x83, %eax
    movl %eax, (%edi, %ecx, 8)
    incl %ecx
    cmpl $2048, %ecx
    jne 1b

    movl $boot_pdpt_lo, %edi
    movl $boot_pd + 0x3, %eax
    movl %eax, 0(%edi)
    addl $0x1000, %eax
    movl %eax, 8(%edi)
    addl $0x1000, %eax
    movl %eax, 16(%edi)
    addl $0x1000, %eax
    movl %eax, 24(%edi)

    /* -2 GiB window: PDPT entries 510/511 alias physical 0-2 GiB. */
    movl $boot_pdpt_hi, %edi
    movl $boot_pd + 0x3, %eax
    movl %eax, 510 * 8(%edi)
    addl $0x1000, %eax
    movl %eax, 511 * 8(%edi)

    movl $boot_pml4, %edi
    movl $boot_pdpt_lo + 0x3, %eax
    movl %eax, 0(%edi)
    movl $boot_pdpt_hi + 0x3, %eax
    movl %eax, 511 * 8(%edi)

    movl %cr4, %eax
    orl $0x20, %eax             /* PAE */
    movl %eax, %cr4
    movl $boot_pml4, %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx
    rdmsr
    orl $0x100, %eax            /* EFER.LME */
    wrmsr
    movl %cr0, %eax
    orl $0x80000001, %eax       /* PG | PE */
    andl $0x9FFFFFFF, %eax      /* caches on (CD, NW clear) */
    movl %eax, %cr0
    lgdt boot_gdtr
    ljmp $0x08, $boot_long

no_long_mode:
    movl $msg_no_lm, %esi
2:  movb (%esi), %al
    testb %al, %al
    jz 4f
    movw $0x3F8, %dx
    outb %al, %dx
    movw $0x2F8, %dx
    outb %al, %dx
    incl %esi
    jmp 2b
4:  hlt
    jmp 4b

    .code64
boot_long:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
    movabsq $start64, %rax
    jmp *%rax

    .section .boot.data, "aw"
    .align 16
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF    /* 64-bit code */
    .quad 0x00CF92000000FFFF    /* data */
boot_gdtr:
    .word boot_gdtr - boot_gdt - 1
    .long boot_gdt
    .global boot_mb_magic, boot_mb_info
boot_mb_magic: .long 0
boot_mb_info:  .long 0
msg_no_lm: .asciz "thinvisor: this CPU has no long mode (x86-64); cannot start\r\n"
    .align 4096
boot_pml4:    .fill 4096, 1, 0
boot_pdpt_lo: .fill 4096, 1, 0
boot_pdpt_hi: .fill 4096, 1, 0
boot_pd:      .fill 4 * 4096, 1, 0
boot_stack:   .fill 4096, 1, 0
boot_stack_top:

    /* First code in the kernel window: a real stack in .bss, zero .bss, then C++. */
    .section .text.start64, "ax"
    .global start64
start64:
    movabsq $__bss_start, %rdi
    movabsq $__bss_end, %rcx
    subq %rdi, %rcx
    xorl %eax, %eax
    rep stosb
    movabsq $tv_boot_stack_top, %rsp
    xorl %ebp, %ebp
    movl boot_mb_magic, %edi
    movl boot_mb_info, %esi
    call tv_early_main
5:  cli
    hlt
    jmp 5b

    .section .bss
    .align 16
    .global tv_boot_stack_top
tv_boot_stack:
    .skip 65536
tv_boot_stack_top:
