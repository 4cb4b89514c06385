// Exit counters by reason, plus a few named event counters; read at power-off in the log
// and by the guest through TV_HC_COUNTER.
#pragma once

#include "core/exit_record.hpp"

namespace tv {

enum class Event : u8 { HiddenAccess, IoPassThrough, IoEmulated, kCount };

void stats_count_exit(ExitReason r);
void stats_count(Event e);
u32 stats_counter_count();
// Name (up to 16 chars) and value of counter `i`; false past the end.
[[nodiscard]] bool stats_counter(u32 i, char const** name, u64* value);
void stats_log(char const* why);

}  // namespace tv
