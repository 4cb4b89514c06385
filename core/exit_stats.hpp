// Exit counters by reason, plus a few named event counters; read at power-off in the log
// and by the guest through TV_HC_COUNTER.
#pragma once

#include "core/exit_record.hpp"

namespace tv {

enum class Event : u8 { HiddenAccess, IoPassThrough, IoEmulated, MsrRefused, kCount };

void stats_count_exit(ExitReason r);
void stats_count(Event e);
u32 stats_counter_count();
// Name (up to 16 chars) and value of counter `i`; false past the end.
[[nodiscard]] bool stats_counter(u32 i, char const** name, u64* value);
void stats_log(char const* why);

// Device counters: a mediator's own named counts (e.g. the AHCI mediator's register accesses),
// read by the guest through TV_HC_COUNTER at the indexes after stats_counter_count(), so that
// tools summing "the counters" as exits never count them. fn fills name (17 bytes, NUL
// terminated) and value of its counter i < count. False when the registry is full.
using DeviceCounterFn = bool (*)(void* ctx, u32 i, char* name, u64* value);
inline constexpr u32 kMaxDeviceCounterSources = 8;  // AHCI, the VPN (two), file protection, room to grow

// The sources, one after another. The monitor has one (behind the two functions below),
// filled at install time before any guest runs and read-only afterwards; host tests build
// their own, so none depends on what another test registered in the process-wide one.
class DeviceCounterRegistry {
  public:
    [[nodiscard]] bool add(u32 count, DeviceCounterFn fn, void* ctx);
    [[nodiscard]] bool get(u32 i, char* name, u64* value) const;

  private:
    struct Source {
        u32 count;
        DeviceCounterFn fn;
        void* ctx;
    };
    Source sources_[kMaxDeviceCounterSources]{};
    u32 count_{0};
};

[[nodiscard]] bool stats_device_counters_register(u32 count, DeviceCounterFn fn, void* ctx);
// Device counter i (0 = the first after the exit and event counters); false past the end.
[[nodiscard]] bool stats_device_counter(u32 i, char* name, u64* value);

}  // namespace tv
