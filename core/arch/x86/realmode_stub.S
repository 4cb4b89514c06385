/* Guest code, never run by the monitor: copied into 1 KiB of conventional memory taken from
 * the top of base memory (BDA 0x413), the way option ROMs take memory. Two entry points:
 *  - an INT 15h hook that hands E820/E801/88h memory-size queries to the monitor (so the
 *    guest never learns of the monitor's RAM) and chains everything else to the BIOS;
 *  - the boot path: read the boot disk's first sector to 0000:7C00 with INT 13h and jump to
 *    it with DL = drive, exactly as a BIOS does. A failure traps to the monitor.
 *  - an INT 13h hook for a disk the monitor emulates (the AoE disk: SeaBIOS never saw it):
 *    calls for that drive go to the monitor, every other drive to the BIOS. The IVT entry
 *    points here only once the monitor has such a disk (bios_disk_install).
 * VMMCALL is patched to VMCALL on Intel CPUs. */
    .section .rodata.rmstub, "a"
    .code16
    .global tv_rm_stub_start, tv_rm_stub_end, tv_rm_stub_service_call, tv_rm_stub_orig15
    .global tv_rm_stub_boot, tv_rm_stub_fail_call, tv_rm_stub_drive
    .global tv_rm_stub_int13, tv_rm_stub_disk_call, tv_rm_stub_orig13, tv_rm_stub_disk_drive
tv_rm_stub_start:
    cmpl $0xE820, %eax
    je 1f
    cmpw $0xE801, %ax
    je 1f
    cmpb $0x88, %ah
    je 1f
    ljmpw *%cs:(tv_rm_stub_orig15 - tv_rm_stub_start)
1:
tv_rm_stub_service_call:
    vmmcall
    iret

    .balign 4
tv_rm_stub_orig15:
    .long 0
tv_rm_stub_drive:
    .byte 0x80
tv_rm_stub_disk_drive:
    .byte 0xFF
    .balign 4
tv_rm_stub_orig13:
    .long 0

tv_rm_stub_int13:
    cmpb %cs:(tv_rm_stub_disk_drive - tv_rm_stub_start), %dl
    jne 5f
tv_rm_stub_disk_call:
    vmmcall
    iret
5:  ljmpw *%cs:(tv_rm_stub_orig13 - tv_rm_stub_start)

tv_rm_stub_boot:
    cli
    xorw %ax, %ax
    movw %ax, %ss
    movw $0x7C00, %sp
    movw %ax, %ds
    movw %ax, %es
    sti
    movw $3, %si
2:  movw $0x0201, %ax
    movw $0x7C00, %bx
    movw $0x0001, %cx
    movb %cs:(tv_rm_stub_drive - tv_rm_stub_start), %dl
    xorb %dh, %dh
    int $0x13
    jnc 3f
    xorw %ax, %ax
    int $0x13
    decw %si
    jnz 2b
    jmp 4f
3:  cmpw $0xAA55, 0x7DFE
    jne 4f
    movb %cs:(tv_rm_stub_drive - tv_rm_stub_start), %dl
    ljmpw $0, $0x7C00
4:
tv_rm_stub_fail_call:
    vmmcall
    hlt
    jmp 4b
tv_rm_stub_end:
    .code64
