#include "switch/mac_policy.hpp"

#include <string.h>

namespace tv::sw {

MacAddr dst_mac(Frame f) {
    MacAddr m{};
    if (f.len >= 6) memcpy(m.b, f.data, 6);
    return m;
}

MacAddr src_mac(Frame f) {
    MacAddr m{};
    if (f.len >= 12) memcpy(m.b, f.data + 6, 6);
    return m;
}

Dest MacPolicy::from_wire(Frame f) {
    if (f.len < 14) return Dest::None;
    MacAddr const dst = dst_mac(f);
    if (dst == mon_) return Dest::Monitor;
    if (is_group(dst)) return Dest::Guest | Dest::Monitor;
    return Dest::Guest;
}

Dest MacPolicy::from_guest(Frame f) {
    if (f.len < 14) return Dest::Wire;
    MacAddr const src = src_mac(f);
    if (!is_group(src) && src != mon_) {
        guest_ = src;
        guest_known_ = true;
    }
    MacAddr const dst = dst_mac(f);
    if (dst == mon_ || is_group(dst)) return Dest::Wire | Dest::Monitor;
    return Dest::Wire;
}

Dest MacPolicy::from_monitor(Frame f) {
    MacAddr const dst = dst_mac(f);
    if (is_group(dst)) return Dest::Wire | Dest::Guest;
    if (guest_known_ && dst == guest_) return Dest::Guest;
    return Dest::Wire;
}

}  // namespace tv::sw
