#pragma once

#include "core/types.hpp"

namespace tv {

[[noreturn]] void monitor_main();
u64 monitor_tables_base();
[[nodiscard]] Status heap_init(u64 bytes);

}  // namespace tv
