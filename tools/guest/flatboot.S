/* The protected-mode part of a "flat" bzImage (tools/guest/flat-kernel.py): this stub, then
 * the Debian kernel's own vmlinux, uncompressed. The kernel's real-mode setup code (unchanged)
 * enters here at 0x100000 in 32-bit protected mode, interrupts off, ESI = boot_params, exactly
 * as it would enter the kernel's decompressor. Instead of decompressing (billions of
 * instructions under Bochs), the stub moves the image to the physical address it was linked
 * for, zeroes what follows it, switches to long mode with an identity map of the first GiB and
 * enters the kernel at its ELF entry point through the 64-bit boot protocol: RSI = boot_params,
 * flat __BOOT_CS (0x10) and __BOOT_DS (0x18), as any direct-vmlinux loader does.
 *
 * Parameters (--defsym): IMAGE_LEN (bytes, a multiple of 4), KERNEL_PHYS (where the image
 * goes), KERNEL_END (end of the kernel's memory, bss included), KERNEL_ENTRY. */
#define STUB_SIZE 0x4000
#define MSR_EFER 0xC0000080
    .code32
    .text
    .globl _start
_start:
    cld
    movl %esi, %ebx             /* boot_params, kept for the kernel */

    /* The image was loaded right behind the stub, below its destination: the ranges
     * overlap, so move it from the end backwards. */
    movl $(IMAGE_LEN / 4), %ecx
    movl $(_start + STUB_SIZE + IMAGE_LEN - 4), %esi
    movl $(KERNEL_PHYS + IMAGE_LEN - 4), %edi
    std
    rep movsl
    cld
    movl $(KERNEL_PHYS + IMAGE_LEN), %edi
    movl $((KERNEL_END - KERNEL_PHYS - IMAGE_LEN) / 4), %ecx
    xorl %eax, %eax
    rep stosl                   /* .bss, .brk and the init scratch area */

    lgdt gdt_desc
    movl %cr4, %eax
    orl $0x20, %eax             /* PAE */
    movl %eax, %cr4
    movl $pml4, %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $0x100, %eax            /* LME */
    wrmsr
    movl %cr0, %eax
    orl $0x80000001, %eax       /* PG, PE */
    movl %eax, %cr0
    ljmp $0x10, $long_mode

    .code64
long_mode:
    movl $0x18, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl %eax, %fs
    movl %eax, %gs
    movl %ebx, %esi
    movl $KERNEL_ENTRY, %eax
    jmp *%rax

    .balign 8
gdt:
    .quad 0, 0
    .quad 0x00af9a000000ffff    /* 0x10: 64-bit code */
    .quad 0x00cf92000000ffff    /* 0x18: flat data */
gdt_desc:
    .word gdt_desc - gdt - 1
    .long gdt

    /* Identity map of the first GiB with 2 MiB pages: kernel, boot_params, command line and
     * initrd all lie there. The kernel replaces it within its first instructions. */
    .balign 4096
pml4:
    .quad pdpt + 3
    .fill 511, 8, 0
pdpt:
    .quad pd + 3
    .fill 511, 8, 0
pd:
    .set page, 0
    .rept 512
    .quad (page << 21) | 0x83   /* present, writable, 2 MiB */
    .set page, page + 1
    .endr
    .org _start + STUB_SIZE     /* exactly: the image follows; more is an assembler error */
