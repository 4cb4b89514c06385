// The VGA text screen, for messages and prompts a person at the machine must see before
// the guest owns the display. Only used before the guest starts.
#pragma once

#include "core/types.hpp"

namespace tv::x86 {

void vga_write(char const* s, size_t n);

}  // namespace tv::x86
