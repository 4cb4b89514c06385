#include "vpn/guest/guest_counters.hpp"

namespace tv::vpn {

char const* guest_drop_name(GuestDrop d) {
    static constexpr char const* kNames[] = {
        "tunnel-down", "tunnel-refused", "runt",          "bad-ipv4", "not-guest-source",
        "other-type",  "arp-other",      "dhcp-ignored",  "too-big-options", "wire-for-guest",
        "inner-bad",   "inner-not-guest", "no-guest-mac", "guest-full"};
    static_assert(sizeof kNames / sizeof kNames[0] == static_cast<u32>(GuestDrop::Count));
    u32 const i = static_cast<u32>(d);
    return i < static_cast<u32>(GuestDrop::Count) ? kNames[i] : "?";
}

}  // namespace tv::vpn
