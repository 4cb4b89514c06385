#include "core/exit_stats.hpp"

#include <stdio.h>

#include "core/log.hpp"

namespace tv {

namespace {
constexpr u32 kReasons = static_cast<u32>(ExitReason::kCount);
constexpr u32 kEvents = static_cast<u32>(Event::kCount);
u64 g_exits[kReasons];
u64 g_events[kEvents];
char const* const kEventNames[kEvents] = {"hidden-access", "io-passthrough", "io-emulated", "msr-refused"};
constinit DeviceCounterRegistry g_device_counters;
}  // namespace

char const* exit_reason_name(ExitReason r) {
    static char const* const names[kReasons] = {
        "cpuid",   "msr-read", "msr-write", "io",        "npf",       "hypercall", "virt-insn",
        "shutdown", "init",    "sipi",      "exception", "ext-intr",  "nmi",       "intr-window",
        "hlt",     "cr-access", "xsetbv",   "invd",      "task-switch", "timer",   "unknown",   "invalid"};
    u32 i = static_cast<u32>(r);
    return i < kReasons ? names[i] : "?";
}

void stats_count_exit(ExitReason r) {
    u32 i = static_cast<u32>(r);
    if (i < kReasons) __atomic_fetch_add(&g_exits[i], 1, __ATOMIC_RELAXED);
}

void stats_count(Event e) { __atomic_fetch_add(&g_events[static_cast<u32>(e)], 1, __ATOMIC_RELAXED); }

u32 stats_counter_count() { return kReasons + kEvents; }

bool stats_counter(u32 i, char const** name, u64* value) {
    if (i < kReasons) {
        *name = exit_reason_name(static_cast<ExitReason>(i));
        *value = __atomic_load_n(&g_exits[i], __ATOMIC_RELAXED);
        return true;
    }
    i -= kReasons;
    if (i >= kEvents) return false;
    *name = kEventNames[i];
    *value = __atomic_load_n(&g_events[i], __ATOMIC_RELAXED);
    return true;
}

bool DeviceCounterRegistry::add(u32 count, DeviceCounterFn fn, void* ctx) {
    if (count_ == kMaxDeviceCounterSources || !fn) return false;
    sources_[count_++] = Source{count, fn, ctx};
    return true;
}

bool DeviceCounterRegistry::get(u32 i, char* name, u64* value) const {
    for (u32 s = 0; s < count_; ++s) {
        if (i < sources_[s].count) return sources_[s].fn(sources_[s].ctx, i, name, value);
        i -= sources_[s].count;
    }
    return false;
}

bool stats_device_counters_register(u32 count, DeviceCounterFn fn, void* ctx) {
    return g_device_counters.add(count, fn, ctx);
}

bool stats_device_counter(u32 i, char* name, u64* value) { return g_device_counters.get(i, name, value); }

void stats_log(char const* why) {
    char line[480];
    int n = snprintf(line, sizeof line, "%s: exit counts", why);
    u64 total = 0;
    for (u32 i = 0; i < stats_counter_count() && n > 0 && static_cast<size_t>(n) < sizeof line; ++i) {
        char const* name;
        u64 value;
        if (!stats_counter(i, &name, &value) || value == 0) continue;
        if (i < kReasons) total += value;
        n += snprintf(line + n, sizeof line - static_cast<size_t>(n), " %s=%llu", name,
                      static_cast<unsigned long long>(value));
    }
    log("%s total=%llu", line, static_cast<unsigned long long>(total));
}

}  // namespace tv
