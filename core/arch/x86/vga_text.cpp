#include "core/arch/x86/vga_text.hpp"

#include <string.h>

#include "core/layout.hpp"

namespace tv::x86 {

namespace {
constexpr u64 kTextBuffer = 0xB8000;
constexpr u32 kCols = 80, kRows = 25;
constexpr u16 kAttr = 0x0700;  // light grey on black
u32 g_row = kRows - 1, g_col;

u16* cells() { return static_cast<u16*>(phys_to_virt(kTextBuffer)); }

void newline() {
    g_col = 0;
    if (++g_row < kRows) return;
    g_row = kRows - 1;
    memmove(cells(), cells() + kCols, (kRows - 1) * kCols * sizeof(u16));
    for (u32 c = 0; c < kCols; ++c) cells()[g_row * kCols + c] = kAttr | ' ';
}
}  // namespace

void vga_write(char const* s, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        char ch = s[i];
        if (ch == '\n') {
            newline();
        } else if (ch == '\b') {
            if (g_col) cells()[g_row * kCols + --g_col] = kAttr | ' ';
        } else if (ch != '\r') {
            if (g_col == kCols) newline();
            cells()[g_row * kCols + g_col++] = static_cast<u16>(kAttr | static_cast<u8>(ch));
        }
    }
}

}  // namespace tv::x86
