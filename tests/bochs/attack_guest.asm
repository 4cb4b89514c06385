; The hostile guest of tests/suites/bochs_rmattack.py: attacks on the monitor that need a guest
; in real mode or at CPL 0 without an OS, under Intel VT-x (Bochs). The boot sector loads the
; rest of this file from the disk (INT 13h), prints "TV-ATTACK: ready" on COM1 and reads a line
; "ADDRESS MODE": ADDRESS (hex) is the monitor's code canary page (from its log, typed by the
; suite), MODE one letter:
;   A  the attacks the guest survives, then power-off through PM1a_CNT (the monitor's power-off
;      canary check follows):
;      bios-e820-unreal       INT 15h E820 (answered by the monitor's BIOS-services hypercall)
;                             with ES's hidden base on the canary page ("unreal" mode: ES loaded
;                             in protected mode, kept back in real mode); issue 12, item 8
;      pio-insw-into-monitor  REP INSW of a sector (the IDE mediator emulates the data port)
;                             into ES:DI with ES based 512 bytes into the canary page
;      pio-outsw-from-monitor REP OUTSW of a sector from FS:SI based 1024 bytes into the canary
;                             page, to LBA 40, then LBA 40 read back
;      ide-wide-out-1f6       `out dx, ax` at 0x1F6: the high byte is the command register 0x1F7,
;                             READ DMA of one sector with its PRD at slice 3 of the canary page
;                             (issue 12, item 1: every byte must reach its owner, the mediator)
;      ioapic-init-entry      an IOAPIC redirection entry written with INIT delivery, read back
;      invd                   INVD with a fresh write in the cache: the guest runs on, the write kept
;   T  task-switch: a far JMP to a TSS in 16-bit protected mode. VMX exits on every task switch;
;      the monitor does not emulate it and shuts the guest down (logged), never panics.
;   I  init-icr-bsp: an INIT IPI to its own APIC (the boot CPU) through the xAPIC ICR. VMX exits
;      on INIT; the monitor holds the CPU in wait-for-SIPI (logged). No power-off follows.
; Each attack prints "ATTACK name" and then "DEFENDED name: how" or "BREACH name: what", as
; tvattack does (tests/attack/), for tests/suites/attacks.py's Judge. Built with `nasm -f bin`.
bits 16
org 0x7c00

SECTORS equ 6               ; after the boot sector
BUF     equ 0x9000          ; a sector of guest RAM
TSS_A   equ 0x9400
TSS_B   equ 0x9500
OUT_LBA equ 40
PRD     equ 0x9800          ; one bus-master PRD entry

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7000
    sti                     ; dl: the boot drive, from the BIOS
    mov ax, 0x0200 | SECTORS
    mov cx, 2               ; cylinder 0, sector 2
    xor dh, dh
    mov bx, 0x7e00
    int 0x13
    cli
    jnc main
    mov si, loadfail
    call puts
    hlt

puts:                       ; each byte after the one before has gone: power-off cuts the last
    lodsb
    or al, al
    jz .e
    mov ah, al
    mov dx, 0x3fd
.w: in al, dx
    test al, 0x40
    jz .w
    mov dx, 0x3f8
    mov al, ah
    out dx, al
    jmp puts
.e: ret

getc:                       ; al = the next byte from COM1
    mov dx, 0x3fd
.w: in al, dx
    test al, 1
    jz .w
    mov dx, 0x3f8
    in al, dx
    ret

loadfail: db "TV-ATTACK: could not load the attacker", 13, 10, 0
times 510 - ($ - $$) db 0
dw 0xaa55

; ---------------------------------------------------------------------------------------------
main:
    mov word [13 * 4], gp_handler   ; #GP: note it, go on at [resume]
    mov word [13 * 4 + 2], 0
    mov si, ready
    call puts
    call read_hex
    mov [target], ebx
.mode:
    call getc
    cmp al, ' '
    je .mode
    cmp al, 'T'
    je task_switch
    cmp al, 'I'
    je init_icr
    call e820_unreal
    call pio_insw
    call pio_outsw
    call ide_wide
    call ioapic_init
    call do_invd
    mov si, finished
    call puts
    jmp power_off

power_off:                  ; S5 through PM1a_CNT: Bochs' (0xB004), then QEMU pc's under SeaBIOS
    mov ax, 0x2000          ; (0x604), where bochs_rmattack runs boot A again under AMD-V
    mov dx, 0xb004
    out dx, ax
    mov dx, 0x604
    out dx, ax
    hlt

; ebx = the hex number typed on COM1 (leading blanks skipped, ends at any other byte)
read_hex:
    xor ebx, ebx
.skip:
    call getc
    cmp al, ' '
    je .skip
    cmp al, 13
    je .skip
    cmp al, 10
    je .skip
.dig:
    mov ah, al
    sub al, '0'
    cmp al, 9
    jbe .add
    mov al, ah
    or al, 0x20
    sub al, 'a'
    cmp al, 5
    ja .end
    add al, 10
.add:
    shl ebx, 4
    movzx eax, al
    or ebx, eax
    call getc
    jmp .dig
.end:
    ret

gp_handler:                 ; real mode: IP, CS, FLAGS on the stack
    push bp
    push ax
    mov bp, sp
    mov ax, [cs:resume]
    mov [bp + 4], ax
    pop ax
    pop bp
    mov byte [cs:faulted], 1
    iret

; The data descriptor (selector 0x10) gets base ebx; then ES or FS is loaded with it in
; protected mode and keeps that base back in real mode.
put_base:
    mov [gdt_data + 2], bx
    mov eax, ebx
    shr eax, 16
    mov [gdt_data + 4], al
    mov [gdt_data + 7], ah
    lgdt [gdtr]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp 0x08:.pm
.pm:
    mov ax, 0x10
    ret

leave_pm:
    mov eax, cr0
    and al, 0xfe
    mov cr0, eax
    jmp 0:.rm
.rm:
    ret

set_es:                     ; ES based at ebx
    call put_base
    mov es, ax
    jmp leave_pm

set_fs:                     ; FS based at ebx
    call put_base
    mov fs, ax
    jmp leave_pm

; --- bios-e820-unreal ---------------------------------------------------------------------------
e820_unreal:
    mov si, a_e820
    call puts
    mov ebx, [target]
    call set_es
    xor di, di
    xor ebx, ebx
    mov eax, 0xe820
    mov ecx, 20
    mov edx, 0x534d4150     ; 'SMAP'
    int 0x15
    mov si, e820_ok
    jc .v
    mov si, e820_bad
.v: xor ax, ax
    mov es, ax
    jmp puts

; --- the IDE data port (primary master: this disk) ----------------------------------------------
wait_idle:
    mov dx, 0x1f7
.w: in al, dx
    test al, 0x80
    jnz .w
    ret

wait_drq:
    mov dx, 0x1f7
.w: in al, dx
    test al, 0x80
    jnz .w
    test al, 0x08
    jz .w
    ret

ata_cmd:                    ; bl = LBA, al = command; one sector of the master; waits for DRQ
    push ax
    call wait_idle
    mov dx, 0x1f6
    mov al, 0xe0
    out dx, al
    call wait_idle
    mov dx, 0x1f2
    mov al, 1
    out dx, al
    inc dx
    mov al, bl
    out dx, al
    inc dx
    xor al, al
    out dx, al
    inc dx
    out dx, al
    pop ax
    mov dx, 0x1f7
    out dx, al
    jmp wait_drq

drain:                      ; moves whatever words the device still wants (al = 0: reads)
    mov cx, 256
.d: mov dx, 0x1f7
    in al, dx
    test al, 0x80
    jnz .d
    test al, 0x08
    jz .e
    mov dx, 0x1f0
    or bl, bl
    jz .r
    xor ax, ax
    out dx, ax
    jmp .n
.r: in ax, dx
.n: loop .d
.e: jmp wait_idle

read_sector:                ; LBA bl into BUF, plainly
    mov al, 0x20
    call ata_cmd
    mov dx, 0x1f0
    mov di, BUF
    mov cx, 256
    rep insw
    jmp wait_idle

pio_insw:
    mov si, a_insw
    call puts
    mov bl, 0               ; the control: the boot sector into guest RAM
    call read_sector
    mov si, BUF
    mov di, 0x7c00
    mov cx, 256
    repe cmpsw
    mov si, insw_noctl
    jne .v
    mov byte [faulted], 0
    mov ebx, [target]
    add ebx, 0x200
    call set_es
    mov bl, 0
    mov al, 0x20
    call ata_cmd
    mov dx, 0x1f0
    xor di, di
    mov cx, 256
    mov word [resume], .after
    rep insw
.after:
    xor ax, ax
    mov es, ax
    xor bl, bl
    call drain
    mov si, insw_fault
    cmp byte [faulted], 0
    jne .v
    mov si, insw_done
.v: jmp puts

pio_outsw:
    mov si, a_outsw
    call puts
    mov byte [faulted], 0
    mov ebx, [target]
    add ebx, 0x400
    call set_fs
    mov bl, OUT_LBA
    mov al, 0x30
    call ata_cmd
    mov dx, 0x1f0
    xor si, si
    mov cx, 256
    mov word [resume], .after
    fs rep outsw
.after:
    xor ax, ax
    mov fs, ax
    mov bl, 1
    call drain
    mov bl, OUT_LBA
    call read_sector
    mov si, BUF
    mov cx, 256
.z: lodsw
    or ax, ax
    jnz .leak
    loop .z
    mov si, outsw_ok
    jmp puts
.leak:
    mov si, outsw_bad
    jmp puts

; --- ide-wide-out-1f6 ---------------------------------------------------------------------------
ide_wide:
    mov si, a_wide
    call puts
    mov eax, 0x80000920     ; BAR4 of the PIIX IDE function 00:01.1: the bus-master ports
    mov dx, 0xcf8
    out dx, eax
    mov dx, 0xcfc
    in eax, dx
    and ax, 0xfffc
    mov [bm], ax
    mov eax, 0x80000904
    mov dx, 0xcf8
    out dx, eax
    mov dx, 0xcfc
    in eax, dx
    or al, 5                ; I/O space and bus mastering on
    out dx, ax
    mov eax, [target]
    add eax, 0x600
    mov [PRD], eax
    mov dword [PRD + 4], 0x80000200
    mov dx, [bm]
    xor al, al
    out dx, al              ; stop
    add dx, 2
    mov al, 6
    out dx, al              ; clear interrupt and error
    add dx, 2
    mov eax, PRD
    out dx, eax
    call wait_idle
    mov dx, 0x1f6
    mov al, 0xe0
    out dx, al
    call wait_idle
    mov dx, 0x1f2
    mov al, 1
    out dx, al
    inc dx
    xor al, al
    out dx, al
    inc dx
    out dx, al
    inc dx
    out dx, al
    mov dx, 0x1f6
    mov ax, 0xc8e0          ; 0x1F6 <- master, LBA; 0x1F7 <- READ DMA
    out dx, ax
    mov dx, [bm]
    mov al, 9               ; start, the device writes memory
    out dx, al
    add dx, 2
    mov ecx, 4000000
.w: in al, dx
    test al, 4
    jnz .done
    dec ecx
    jnz .w
.done:
    mov dx, [bm]
    xor al, al
    out dx, al
    call wait_idle
    mov si, wide_err
    test al, 1
    jnz .v
    mov si, wide_done
.v: jmp puts

; --- ioapic-init-entry: pin 14's entry as INIT, read back, put back ---------------------------
ioapic_init:
    mov si, a_ioapic
    call puts
    mov ebx, 0xfec00000
    call set_fs
    mov dword [fs:0], 0x10 + 2 * 14
    mov eax, [fs:0x10]
    mov [saved], eax
    mov eax, 0x00010500     ; masked, INIT, physical
    mov dword [fs:0x10], eax
    mov dword [fs:0], 0x10 + 2 * 14
    mov eax, [fs:0x10]
    mov [seen], eax
    mov eax, [saved]
    mov dword [fs:0x10], eax
    xor ax, ax
    mov fs, ax
    mov eax, [seen]
    shr eax, 8
    and al, 7
    mov si, ioapic_bad
    cmp al, 5
    je .v
    mov si, ioapic_ok
.v: jmp puts

; --- invd: a write, INVD, the write read back ---------------------------------------------------
do_invd:
    mov si, a_invd
    call puts
    mov dword [seen], 0x5a5aa5a5
    invd
    mov si, invd_ok
    cmp dword [seen], 0x5a5aa5a5
    je .v
    mov si, invd_bad
.v: jmp puts

; --- T: task-switch ---------------------------------------------------------------------------
task_switch:
    mov si, a_task
    call puts
    mov di, TSS_A
    xor ax, ax
    mov cx, 0x100
    rep stosw               ; both TSSs zeroed (ES = 0)
    mov dword [TSS_B + 0x20], after_switch    ; EIP
    mov dword [TSS_B + 0x24], 2               ; EFLAGS
    mov dword [TSS_B + 0x38], 0x7000          ; ESP
    mov word [TSS_B + 0x48], 0x10             ; ES
    mov word [TSS_B + 0x4c], 0x08             ; CS
    mov word [TSS_B + 0x50], 0x10             ; SS
    mov word [TSS_B + 0x54], 0x10             ; DS
    xor ebx, ebx
    call put_base           ; protected mode from here on, data base 0
    mov ds, ax
    mov ss, ax
    mov ax, 0x18
    ltr ax
    jmp 0x20:0              ; VMX exits here
after_switch:               ; only if the switch was carried out
    mov si, task_done
    call puts
    jmp power_off

; --- I: init-icr-bsp --------------------------------------------------------------------------
init_icr:
    mov si, a_init
    call puts
    mov eax, 1
    cpuid
    and ebx, 0xff000000     ; own APIC ID in bits 24-31, as the ICR high half wants it
    mov [seen], ebx
    mov ebx, 0xfee00000
    call set_fs
    mov eax, [seen]
    mov dword [fs:0x310], eax
    mov dword [fs:0x300], 0x00004500    ; INIT, assert, physical destination
    mov ecx, 40000000       ; about 2 s of Bochs time
.spin:
    dec ecx
    jnz .spin
    xor ax, ax
    mov fs, ax
    mov si, init_ran
    call puts
    jmp power_off

align 8
gdt:      dq 0
          dq 0x00009a000000ffff         ; 0x08: 16-bit code, base 0
gdt_data: dq 0x000092000000ffff         ; 0x10: 16-bit data, base filled in
          dq 0x00008900940000ff         ; 0x18: TSS A (available, base TSS_A)
          dq 0x00008900950000ff         ; 0x20: TSS B
gdtr:     dw gdtr - gdt - 1
          dd gdt

target:  dd 0
saved:   dd 0
seen:    dd 0
bm:      dw 0
faulted: db 0
resume:  dw 0

ready:      db "TV-ATTACK: ready", 13, 10, 0
finished:   db "TV-ATTACK: finished", 13, 10, 10, 0
a_e820:     db "ATTACK bios-e820-unreal", 13, 10, 0
e820_ok:    db "DEFENDED bios-e820-unreal: INT 15h E820 with ES based on the monitor's code canary came back with CF set (refused)", 13, 10, 0
e820_bad:   db "BREACH bios-e820-unreal: INT 15h E820 claims to have written its entry at ES:0 in the monitor's region (CF clear)", 13, 10, 0
a_insw:     db "ATTACK pio-insw-into-monitor", 13, 10, 0
insw_noctl: db "BREACH pio-insw-into-monitor: the control (REP INSW of sector 0 into guest RAM) did not read the boot sector: the attack proves nothing", 13, 10, 0
insw_fault: db "DEFENDED pio-insw-into-monitor: REP INSW into the monitor's region took #GP (the control into guest RAM read the sector)", 13, 10, 0
insw_done:  db "DEFENDED pio-insw-into-monitor: REP INSW into the monitor's region ran without a fault; the power-off canary check judges", 13, 10, 0
a_outsw:    db "ATTACK pio-outsw-from-monitor", 13, 10, 0
outsw_ok:   db "DEFENDED pio-outsw-from-monitor: REP OUTSW from the monitor's region left zeros on LBA 40", 13, 10, 0
outsw_bad:  db "BREACH pio-outsw-from-monitor: LBA 40 holds non-zero bytes after REP OUTSW from the monitor's region", 13, 10, 0
a_wide:     db "ATTACK ide-wide-out-1f6", 13, 10, 0
wide_err:   db "DEFENDED ide-wide-out-1f6: READ DMA by a 16-bit out at 0x1F6 ended with ERR; the power-off canary check judges", 13, 10, 0
wide_done:  db "DEFENDED ide-wide-out-1f6: READ DMA by a 16-bit out at 0x1F6 ended without ERR; the power-off canary check judges", 13, 10, 0
a_ioapic:   db "ATTACK ioapic-init-entry", 13, 10, 0
ioapic_ok:  db "DEFENDED ioapic-init-entry: the IOAPIC entry written with INIT delivery does not read back as INIT", 13, 10, 0
ioapic_bad: db "BREACH ioapic-init-entry: the IOAPIC entry holds INIT delivery", 13, 10, 0
a_invd:     db "ATTACK invd", 13, 10, 0
invd_ok:    db "DEFENDED invd: the guest ran on after INVD and a write made just before it was kept", 13, 10, 0
invd_bad:   db "BREACH invd: a write made just before INVD was lost", 13, 10, 0
a_task:     db "ATTACK task-switch", 13, 10, 0
task_done:  db "DEFENDED task-switch: the task switch was carried out and the new task runs", 13, 10, 0
a_init:     db "ATTACK init-icr-bsp", 13, 10, 0
init_ran:   db "TV-ATTACK: the boot CPU ran on after an INIT to itself", 13, 10, 10, 0

times (SECTORS + 1) * 512 - ($ - $$) db 0
