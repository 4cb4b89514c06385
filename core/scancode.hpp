// PS/2 keyboard scancode set 1 (what the i8042 delivers with translation on, the BIOS
// default) to ASCII, for the monitor's own boot-time prompts. Pure: host-tested.
#pragma once

#include "core/types.hpp"

namespace tv {

class ScancodeDecoder {
  public:
    // Feeds one byte from port 0x60. Returns the character typed (0 for none: a release,
    // a modifier, an extended or unknown key). '\n' for Enter, '\b' for Backspace.
    char feed(u8 code);

  private:
    bool shift_ = false;
    bool extended_ = false;
};

}  // namespace tv
