// Polled 16550 UART. The monitor never takes interrupts, so polling is the only mode.
#pragma once

#include "core/types.hpp"

namespace tv::x86 {

inline constexpr u16 kCom1 = 0x3F8;  // the guest's console; the monitor only borrows it before boot
inline constexpr u16 kCom2 = 0x2F8;  // the monitor's own log channel, hidden from the guest

void serial_init(u16 base);
void serial_write(u16 base, char const* s, size_t n);
// Non-blocking read of one byte; false when nothing is waiting.
[[nodiscard]] bool serial_read(u16 base, u8* out);

}  // namespace tv::x86
