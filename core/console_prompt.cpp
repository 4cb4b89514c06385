#include "core/console_prompt.hpp"

#include <string.h>

#include "core/arch/x86/cpu.hpp"
#include "core/arch/x86/serial.hpp"
#include "core/arch/x86/vga_text.hpp"
#include "core/scancode.hpp"

namespace tv {

namespace {

constexpr u16 kKbcData = 0x60, kKbcStatus = 0x64;
constexpr u8 kOutputFull = 0x01, kAuxData = 0x20;

void echo(char const* s, size_t n) {
    x86::serial_write(x86::kCom1, s, n);
    x86::vga_write(s, n);
}

// One character from either input, or 0 when none is waiting.
char poll_input(ScancodeDecoder& kbd) {
    u8 byte;
    if (x86::serial_read(x86::kCom1, &byte)) {
        if (byte == '\r') return '\n';
        if (byte == 0x7F) return '\b';
        return static_cast<char>(byte);
    }
    u8 status = x86::inb(kKbcStatus);
    if (!(status & kOutputFull)) return 0;
    u8 code = x86::inb(kKbcData);
    return (status & kAuxData) ? 0 : kbd.feed(code);  // mouse bytes are not keys
}

}  // namespace

void prompt_print(char const* s) {
    size_t n = strlen(s);
    for (size_t i = 0; i < n; ++i) {
        if (s[i] == '\n') x86::serial_write(x86::kCom1, "\r", 1);
        x86::serial_write(x86::kCom1, s + i, 1);
    }
    x86::vga_write(s, n);
}

size_t prompt_read_secret(char const* prompt, char* buf, size_t cap) {
    prompt_print(prompt);
    ScancodeDecoder kbd;
    size_t len = 0;
    for (;;) {
        char c = poll_input(kbd);
        if (c == 0) {
            x86::pause();
            continue;
        }
        if (c == '\n') break;
        if (c == '\b') {
            if (len) --len, echo("\b \b", 3);
            continue;
        }
        if (static_cast<u8>(c) < 0x20 || len + 1 >= cap) continue;
        buf[len++] = c;
        echo("*", 1);
    }
    buf[len] = 0;
    prompt_print("\n");
    return len;
}

}  // namespace tv
