// The wall clock the policy fetch checks certificate validity dates against (docs/policies.md,
// "Time"): the CMOS RTC, read once before the guest runs, then advanced by the monitor clock.
// Pure: the decoding of the RTC's registers and the calendar arithmetic are host-tested.
#pragma once

#include "core/types.hpp"

namespace tv::net {

// The RTC's time registers as read (status register B says BCD or binary, 12 or 24 hours).
struct CmosTime {
    u8 sec, min, hour, day, mon, year, century;  // century 0: not provided (then 20xx)
    u8 status_b;
};

// Seconds since 1970-01-01 00:00 UTC of a civil date and time, taken as UTC. No range check.
u64 civil_to_unix(u32 year, u32 mon, u32 day, u32 hour, u32 min, u32 sec);

// A certificate's validity against the wall clock `now` (seconds since 1970, UTC): whether
// it is not valid yet, or no longer. The dates as X.509 gives them (UTC, full years).
struct CivilTime {
    int year, mon, day, hour, min, sec;
};
enum class Validity : u8 { Valid, NotYet, Expired };
Validity check_validity(u64 now, CivilTime const& from, CivilTime const& to);

// False for values no RTC holds (month 13, BCD digit 0xA, ...): then there is no wall clock.
[[nodiscard]] bool cmos_to_unix(CmosTime const& t, u64* out);

}  // namespace tv::net
