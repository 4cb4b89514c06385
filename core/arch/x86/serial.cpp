#include "core/arch/x86/serial.hpp"

#include "core/arch/x86/cpu.hpp"

namespace tv::x86 {

void serial_init(u16 base) {
    outb(static_cast<u16>(base + 1), 0x00);  // no interrupts: the guest owns the PIC
    outb(static_cast<u16>(base + 3), 0x80);  // DLAB
    outb(static_cast<u16>(base + 0), 0x01);  // 115200 baud
    outb(static_cast<u16>(base + 1), 0x00);
    outb(static_cast<u16>(base + 3), 0x03);  // 8N1
    outb(static_cast<u16>(base + 2), 0xC7);  // FIFO on, cleared
    outb(static_cast<u16>(base + 4), 0x03);  // DTR, RTS; OUT2 off so no IRQ reaches the guest
}

void serial_write(u16 base, char const* s, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        // Bounded wait: a missing UART must not hang the monitor forever.
        for (u32 spin = 0; spin < 100000 && !(inb(static_cast<u16>(base + 5)) & 0x20); ++spin) pause();
        outb(base, static_cast<u8>(s[i]));
    }
}

bool serial_read(u16 base, u8* out) {
    if (!(inb(static_cast<u16>(base + 5)) & 0x01)) return false;
    *out = inb(base);
    return true;
}

}  // namespace tv::x86
