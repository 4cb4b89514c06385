#include "vpn/esp_udp.hpp"

#include <string.h>

namespace tv::vpn {

Udp4500Kind classify_udp4500(u8 const* p, u64 len) {
    if (len == 1 && p[0] == kNatKeepalive)
        return Udp4500Kind::Keepalive;
    if (len < kNonEspMarkerBytes)
        return Udp4500Kind::Malformed;
    if (p[0] == 0 && p[1] == 0 && p[2] == 0 && p[3] == 0)
        return len > kNonEspMarkerBytes ? Udp4500Kind::Ike : Udp4500Kind::Malformed;
    return Udp4500Kind::Esp;  // esp_open judges its length
}

void frame_ike_for_udp4500(u8 const* ike, u64 len, u8* out) {
    memset(out, 0, kNonEspMarkerBytes);
    memmove(out + kNonEspMarkerBytes, ike, len);
}

}  // namespace tv::vpn
