; The guest of tests/suites/bochs_disk.py: one boot sector that drives the IDE disk itself
; (the primary slave; Bochs' CD is the master) through the monitor's IDE mediator, by PIO and
; by bus-master DMA, and reports on COM1. Built with `nasm -f bin` by the suite.
;
; First boot: sectors PIO_LBA and DMA_LBA do not hold the markers yet, so it writes the PIO
; marker with WRITE SECTORS (0x30) and the DMA marker with WRITE DMA (0xCA), reads both back
; (READ SECTORS 0x20, READ DMA 0xC8) and compares: "TV-IDE wrote pio=ok dma=ok".
; Second boot: both read back as written: "TV-IDE found pio=ok dma=ok".
; Anything else prints "bad" in that place. Then it powers off through PM1a_CNT (0xb004).
bits 16
org 0x7c00

PIO_LBA equ 40
DMA_LBA equ 41
WBUF    equ 0x8000          ; what is written (512 bytes)
RBUF    equ 0x8400          ; what is read back
PRD     equ 0x7e00          ; one bus-master PRD entry

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    ; Bus master: BAR4 of the PIIX IDE function 00:01.1, bus mastering on in its command register.
    mov eax, 0x80000920
    call pci_read
    and ax, 0xfffc
    mov [bm], ax
    mov eax, 0x80000904
    call pci_read
    or al, 5                ; I/O space, bus master (the address is still in 0xcf8)
    out dx, ax
    ; The PRD entry: RBUF or WBUF (filled in per transfer), 512 bytes, end of table.
    mov dword [PRD + 4], 0x80000200

    mov si, found_msg
    call try_read           ; both markers there already? (second boot)
    jnc report
    mov si, pio_mark        ; first boot: write them
    call fill
    mov bl, PIO_LBA
    call pio_write
    mov si, dma_mark
    call fill
    mov bl, DMA_LBA
    mov cx, 0xca00          ; WRITE DMA, bus master reads memory
    call dma_xfer
    mov si, wrote_msg
    call try_read
report:
    call puts
    mov si, pio_res
    call puts
    mov si, nl
    call puts
    mov dx, 0xb004
    mov ax, 0x2000
    out dx, ax
    hlt

; Reads both sectors back (si kept); CF set unless both hold their marker.
try_read:
    push si
    mov bl, PIO_LBA
    call pio_read
    mov si, pio_mark
    mov di, pio_st
    call check
    pushf
    mov bl, DMA_LBA
    mov cx, 0xc808          ; READ DMA, bus master writes memory
    mov dword [PRD], RBUF
    call dma_xfer
    mov si, dma_mark
    mov di, dma_st
    call check
    jc .bad
    popf
    pop si
    ret
.bad:
    popf
    pop si
    stc
    ret

; Compares RBUF with 32 copies of the 16 bytes at si; "ok " or "bad" into the 3 bytes at di;
; CF set on a mismatch.
check:
    mov bx, RBUF
    mov cx, 32
.blk:
    push cx
    push si
    push di
    mov di, bx
    mov cx, 16
    repe cmpsb
    pop di
    pop si
    pop cx
    jne .no
    add bx, 16
    loop .blk
    mov word [di], 'ok'
    mov byte [di + 2], ' '
    clc
    ret
.no:
    mov word [di], 'ba'
    mov byte [di + 2], 'd'
    stc
    ret

fill:                       ; WBUF = 32 copies of the 16 bytes at si
    mov di, WBUF
    mov cx, 32
.f: push si
    push cx
    mov cx, 16
    rep movsb
    pop cx
    pop si
    loop .f
    ret

select:                     ; slave, LBA bl, one sector
    call wait_idle
    mov dx, 0x1f6
    mov al, 0xf0
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
    mov dx, 0x1f7
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

pio_write:
    call select
    mov al, 0x30
    out dx, al
    call wait_drq
    mov dx, 0x1f0
    mov si, WBUF
    mov cx, 256
    rep outsw
    jmp wait_idle

pio_read:
    call select
    mov al, 0x20
    out dx, al
    call wait_drq
    mov dx, 0x1f0
    mov di, RBUF
    mov cx, 256
    rep insw
    ret

; One sector by DMA: ch = ATA command, cl = bus-master direction bit (8: to memory).
dma_xfer:
    cmp cl, 0
    jne .go
    mov dword [PRD], WBUF
.go:
    mov dx, [bm]
    xor al, al
    out dx, al              ; stop
    add dx, 2
    mov al, 6
    out dx, al              ; clear interrupt and error
    add dx, 2
    mov eax, PRD
    out dx, eax
    call select
    mov al, ch
    out dx, al
    mov dx, [bm]
    mov al, cl
    or al, 1
    out dx, al              ; start
    add dx, 2
.w: in al, dx
    test al, 4              ; interrupt: the transfer is done
    jz .w
    sub dx, 2
    xor al, al
    out dx, al
    jmp wait_idle

pci_read:                   ; eax = config address; returns the dword in eax
    mov dx, 0xcf8
    out dx, eax
    mov dx, 0xcfc
    in eax, dx
    ret

puts:                       ; each byte after the one before has gone: power-off cuts the last

    lodsb
    or al, al
    jz .e
    mov ah, al
    mov dx, 0x3fd
.w: in al, dx
    test al, 0x40           ; transmitter empty
    jz .w
    mov dx, 0x3f8
    mov al, ah
    out dx, al
    jmp puts
.e: ret

bm:        dw 0
found_msg: db "TV-IDE found ", 0
wrote_msg: db "TV-IDE wrote ", 0
nl:        db 13, 10, 10, 0     ; the last byte is lost to the power-off
pio_res:   db "pio="
pio_st:    db "ok  dma="
dma_st:    db "ok ", 0
pio_mark:  db "TVBOCHS-PIO-MRK!"
dma_mark:  db "TVBOCHS-DMA-MRK!"
times 510 - ($ - $$) db 0
dw 0xaa55
