; The guest of tests/suites/bochs_net.py's clock case: one boot sector. First it pings the host
; through the shared e1000 with a driver of its own (the NIC's I/O BAR, one TX and one RX ring
; of 8 descriptors in low memory): it sends the echo request the test put at FRAME (Ethernet,
; IPv4, ICMP, built by the test with the tap's MAC) and polls its RX ring for an echo reply;
; COM1 gets `P+` (a reply came) or `P-`. Then the monitor clock's phases: I, idle about 30 s
; of Bochs time in HLT with interrupts on; B, spin about 8 s with interrupts off (no exits);
; E, then power-off through PM1a_CNT. Built with `nasm -f bin` by the suite.
bits 16
org 0x7c00

RXR     equ 0x9000          ; 8 RX descriptors
TXR     equ 0x9100          ; 8 TX descriptors
RXBUF   equ 0xa000          ; 8 x 2 KiB
FRAME   equ 0x7c00 + 400    ; the test writes the echo request here
FRAMELEN equ 98

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    ; The e1000 at 00:02.0: I/O BAR (BAR1), I/O + memory + bus master on.
    mov eax, 0x80001014
    call pci_read
    and ax, 0xfffc
    mov bp, ax
    mov eax, 0x80001004
    call pci_read
    or al, 7
    out dx, ax
    ; Rings: zeroed, RX buffers 2 KiB apart.
    mov di, RXR
    mov cx, (TXR + 128 - RXR) / 2
    xor ax, ax
    rep stosw
    mov di, RXR
    mov eax, RXBUF
.r: mov [di], eax
    add eax, 2048
    add di, 16
    cmp di, RXR + 128
    jb .r
    mov dword [TXR], FRAME
    mov dword [TXR + 8], FRAMELEN | 0x0b000000   ; EOP, IFCS, RS
    mov eax, [FRAME + 6]    ; the frame's source MAC is the guest's: RAR[0]
    mov [mac_lo], eax
    movzx eax, word [FRAME + 10]
    or eax, 0x80000000
    mov [mac_hi], eax
    mov si, regs
.w: lodsw                   ; register offset, 0 ends
    or ax, ax
    jz .sent
    movzx ebx, ax
    lodsd
    call wr
    jmp .w
.sent:
    ; Wait for an echo reply in the RX ring (2^22 passes, a few seconds of Bochs time).
    mov ecx, 0x00400000
.p: mov di, RXR
.d: test byte [di + 12], 1  ; DD
    jz .n
    mov bx, [di]            ; the buffer (below 64 KiB)
    cmp word [bx + 12], 0x0008  ; IPv4
    jne .n
    cmp byte [bx + 23], 1   ; ICMP
    jne .n
    cmp byte [bx + 34], 0   ; echo reply
    je .got
.n: add di, 16
    cmp di, RXR + 128
    jb .d
    dec ecx
    jnz .p
    mov al, '-'
    jmp .say
.got:
    mov al, '+'
.say:
    mov dx, 0x3f8
    mov ah, al
    mov al, 'P'
    out dx, al
    call txwait
    mov al, ah
    out dx, al
    call txwait
    ; The clock's phases.
    mov al, 'I'
    out dx, al
    mov bx, [0x46c]
    sti
idle:
    hlt
    mov ax, [0x46c]
    sub ax, bx
    cmp ax, 546
    jb idle
    cli
    mov al, 'B'
    out dx, al
    mov ecx, 0x0c000000
spin:
    dec ecx
    jnz spin
    mov al, 'E'
    out dx, al
    call txwait
    mov dx, 0xb004
    mov ax, 0x2000
    out dx, ax
    hlt

txwait:                     ; until COM1's transmitter is empty (dx = 0x3f8 kept)
    push ax
    mov dx, 0x3fd
.t: in al, dx
    test al, 0x40
    jz .t
    mov dx, 0x3f8
    pop ax
    ret

wr:                         ; e1000 register ebx <- eax through IOADDR/IODATA
    mov dx, bp
    xchg eax, ebx
    out dx, eax
    xchg eax, ebx
    add dx, 4
    out dx, eax
    ret

pci_read:
    mov dx, 0xcf8
    out dx, eax
    mov dx, 0xcfc
    in eax, dx
    ret

; (offset, value) pairs written in order.
regs:
    dw 0x5400
mac_lo: dd 0
    dw 0x5404
mac_hi: dd 0x80000000
    dw 0x2800
    dd RXR                  ; RDBAL
    dw 0x2804
    dd 0
    dw 0x2808
    dd 128                  ; RDLEN
    dw 0x2810
    dd 0
    dw 0x2818
    dd 7                    ; RDT
    dw 0x0100
    dd 0x04008002           ; RCTL: EN, BAM, SECRC, 2 KiB buffers
    dw 0x3800
    dd TXR                  ; TDBAL
    dw 0x3804
    dd 0
    dw 0x3808
    dd 128                  ; TDLEN
    dw 0x3810
    dd 0
    dw 0x3818
    dd 0
    dw 0x0400
    dd 0x0000000a           ; TCTL: EN, PSP
    dw 0x3818
    dd 1                    ; TDT: the echo request goes
    dw 0
end_regs:

times FRAME - 0x7c00 - ($ - $$) db 0
frame: times FRAMELEN db 0
times 510 - ($ - $$) db 0
dw 0xaa55
