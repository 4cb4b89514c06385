#include "net/wall_time.hpp"

namespace tv::net {

namespace {

bool from_bcd(u8 v, bool bcd, u32* out) {
    if (!bcd) return *out = v, true;
    if ((v & 0x0F) > 9 || (v >> 4) > 9) return false;
    *out = (v >> 4) * 10u + (v & 0x0Fu);
    return true;
}

}  // namespace

// Days from the civil date, by the usual era arithmetic (a year of 365.2425 days in eras of
// 400 years), then seconds.
u64 civil_to_unix(u32 year, u32 mon, u32 day, u32 hour, u32 min, u32 sec) {
    u32 const y = mon <= 2 ? year - 1 : year;
    u32 const era = y / 400, yoe = y - era * 400;
    u32 const mp = mon > 2 ? mon - 3 : mon + 9;
    u32 const doy = (153 * mp + 2) / 5 + day - 1;
    u32 const doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    u64 const days = u64{era} * 146097 + doe - 719468;
    return days * 86400 + u64{hour} * 3600 + u64{min} * 60 + sec;
}

Validity check_validity(u64 now, CivilTime const& from, CivilTime const& to) {
    auto secs = [](CivilTime const& t) {
        if (t.year < 1970 || t.mon < 1 || t.day < 1 || t.hour < 0 || t.min < 0 || t.sec < 0) return u64{0};
        return civil_to_unix(static_cast<u32>(t.year), static_cast<u32>(t.mon), static_cast<u32>(t.day),
                             static_cast<u32>(t.hour), static_cast<u32>(t.min), static_cast<u32>(t.sec));
    };
    if (now < secs(from)) return Validity::NotYet;
    if (now > secs(to)) return Validity::Expired;
    return Validity::Valid;
}

bool cmos_to_unix(CmosTime const& t, u64* out) {
    bool const bcd = !(t.status_b & 0x04), h24 = t.status_b & 0x02;
    u32 sec, min, hour, day, mon, year, century = 20;
    bool const pm = !h24 && (t.hour & 0x80);
    if (!from_bcd(t.sec, bcd, &sec) || !from_bcd(t.min, bcd, &min) || !from_bcd(t.hour & 0x7F, bcd, &hour) ||
        !from_bcd(t.day, bcd, &day) || !from_bcd(t.mon, bcd, &mon) || !from_bcd(t.year, bcd, &year))
        return false;
    if (t.century && !from_bcd(t.century, bcd, &century)) return false;
    if (!h24) {
        if (hour < 1 || hour > 12) return false;
        hour = hour % 12 + (pm ? 12 : 0);
    }
    if (sec > 59 || min > 59 || hour > 23 || day < 1 || day > 31 || mon < 1 || mon > 12 || year > 99 ||
        century < 19 || century > 99)
        return false;
    *out = civil_to_unix(century * 100 + year, mon, day, hour, min, sec);
    return true;
}

}  // namespace tv::net
