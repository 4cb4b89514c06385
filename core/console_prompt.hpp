// Boot-time questions to the person at the machine, before the guest owns the console:
// shown on COM1 and the VGA screen, answered on COM1 or the PS/2 keyboard.
#pragma once

#include "core/types.hpp"

namespace tv {

void prompt_print(char const* s);
// Reads one line without echoing it (a '*' per character). Returns its length; the
// buffer is NUL-terminated. Backspace edits; input beyond cap-1 is ignored.
size_t prompt_read_secret(char const* prompt, char* buf, size_t cap);

}  // namespace tv
