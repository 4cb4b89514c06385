// The end of the line: print why and the CPU state, on the log channel and the console,
// then stop this CPU. Never returns.
#pragma once

#include "core/types.hpp"

namespace tv {

namespace x86 {
struct ExceptionFrame;
}

[[noreturn]] void panic(char const* fmt, ...) __attribute__((format(printf, 1, 2)));
[[noreturn]] void panic_exception(x86::ExceptionFrame const* f);

}  // namespace tv
