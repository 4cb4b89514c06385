#include "vpn/guest/guest_counters.hpp"

namespace tv::vpn {

char const* guest_drop_name(GuestDrop d) {
    // At most 12 characters: "vpn-" and the name make a hypercall counter's 16.
    static constexpr char const* kNames[] = {
        "tunnel-down", "tun-refused", "runt",      "bad-ipv4",  "spoofed-src",  "local-dst", "other-type",  "arp-other",
        "dhcp-ignored", "too-big-opts", "wire-dropped", "inner-bad", "inner-dst", "no-guest-mac", "guest-full"};
    static_assert(sizeof kNames / sizeof kNames[0] == static_cast<u32>(GuestDrop::Count));
    u32 const i = static_cast<u32>(d);
    return i < static_cast<u32>(GuestDrop::Count) ? kNames[i] : "?";
}

}  // namespace tv::vpn
