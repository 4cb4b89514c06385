; The guest of tests/suites/bochs_net.py's aoe case: the boot sector of a disk that vblade
; serves and the monitor emulates as the primary IDE master (the guest boots from it through
; the monitor's INT 13h hook without knowing it). It reads sector 1 with INT 13h AH=42h,
; sector 2 by ATA PIO (READ SECTORS on the emulated master), checks each against its marker,
; writes sector 3 by PIO (WRITE SECTORS, 32 copies of a third marker; the test finds them in
; vblade's image), reads sector 4 by bus-master DMA (READ DMA), reports
; `TV-AOE int13=ok pio=ok dma=ok` on COM1 and powers off. Built with `nasm -f bin` by the
; suite; the test puts the markers into sectors 1, 2 and 4.
bits 16
org 0x7c00

BUF equ 0x8000
PRD equ 0x7e00

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    sti
    mov si, dap
    mov ah, 0x42
    mov dl, 0x80
    int 0x13
    mov di, res13
    jc .bad13
    mov si, mark1
    call check
    jmp .pio
.bad13:
    call bad
.pio:
    cli
    call wait_idle
    mov dx, 0x1f6
    mov al, 0xe0            ; master, LBA
    out dx, al
    mov bl, 2
    mov al, 0x20            ; READ SECTORS
    call taskfile
    call wait_drq
    mov dx, 0x1f0
    mov di, BUF
    mov cx, 256
    rep insw
    call wait_idle
    mov si, mark2
    mov di, rpio
    call check
    mov di, BUF             ; 32 copies of mark3
    mov cx, 32
.f: mov si, mark3
    push cx
    mov cx, 16
    rep movsb
    pop cx
    loop .f
    mov bl, 3
    mov al, 0x30            ; WRITE SECTORS
    call taskfile
    call wait_drq
    mov dx, 0x1f0
    mov si, BUF
    mov cx, 256
    rep outsw
    call wait_idle
    ; Sector 4 by bus-master DMA (READ DMA) through the emulated channel's bus master: BAR4 of
    ; the IDE function 00:01.1, bus mastering on in its command register.
    mov eax, 0x80000920
    call pci_read
    and ax, 0xfffc
    mov bp, ax
    mov eax, 0x80000904
    call pci_read
    or al, 5
    out dx, ax
    mov dword [PRD], BUF
    mov dword [PRD + 4], 0x80000200
    mov dx, bp
    xor al, al
    out dx, al              ; stop
    add dx, 2
    mov al, 6
    out dx, al              ; clear interrupt and error
    add dx, 2
    mov eax, PRD
    out dx, eax
    mov bl, 4
    mov al, 0xc8            ; READ DMA
    call taskfile
    mov dx, bp
    mov al, 9               ; start, to memory
    out dx, al
    add dx, 2
.dw: in al, dx
    test al, 4
    jz .dw
    mov dx, bp
    xor al, al
    out dx, al
    call wait_idle
    mov si, mark4
    mov di, rdma
    call check
    mov si, msg
.c: lodsb                   ; each byte after the one before has gone: power-off cuts the last
    or al, al
    jz .off
    mov ah, al
    mov dx, 0x3fd
.w: in al, dx
    test al, 0x40
    jz .w
    mov dx, 0x3f8
    mov al, ah
    out dx, al
    jmp .c
.off:
    mov dx, 0xb004
    mov ax, 0x2000
    out dx, ax
    hlt

; Compares the 16 bytes at BUF with those at si: "ok " or "bad" at di.
check:
    push di
    mov di, BUF
    mov cx, 16
    repe cmpsb
    pop di
    jne bad
    mov word [di], 'ok'
    mov byte [di + 2], ' '
    ret
bad:
    mov word [di], 'ba'
    mov byte [di + 2], 'd'
    ret

pci_read:                   ; eax = config address; returns the dword in eax, dx = 0xcfc
    mov dx, 0xcf8
    out dx, eax
    mov dx, 0xcfc
    in eax, dx
    ret

; LBA bl, one sector, command al (the device is already selected).
taskfile:
    mov ah, al
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
    mov dx, 0x1f7
    mov al, ah
    out dx, al
    ret

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

dap:    db 16, 0
        dw 1, BUF, 0        ; one sector to 0000:BUF
        dq 1                ; LBA 1
msg:    db "TV-AOE int13="
res13:    db "ok  pio="
rpio:   db "ok  dma="
rdma:   db "ok ", 13, 10, 10, 0
mark1:  db "TVBOCHS-AOE-S1!!"
mark2:  db "TVBOCHS-AOE-S2!!"
mark3:  db "TVBOCHS-AOE-W3!!"
mark4:  db "TVBOCHS-AOE-D4!!"
times 510 - ($ - $$) db 0
dw 0xaa55
