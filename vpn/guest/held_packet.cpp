#include "vpn/guest/held_packet.hpp"

#include <string.h>

namespace tv::vpn {

bool HeldPacket::keep(u8 const* packet, u32 len, u64 now_ms) {
    if (len == 0 || len > sizeof buf_) return false;
    if (len_) ++c_.dropped;  // the newer packet is the one worth sending
    memcpy(buf_, packet, len);
    len_ = len;
    at_ms_ = now_ms;
    ++c_.kept;
    return true;
}

u8 const* HeldPacket::take(u64 now_ms, u32* len) {
    if (!len_) return nullptr;
    u32 const n = len_;
    len_ = 0;
    if (now_ms - at_ms_ > kMaxAgeMs) {
        ++c_.dropped;
        return nullptr;
    }
    ++c_.sent;
    *len = n;
    return buf_;
}

bool HeldPacket::from(u32 src) const {
    if (len_ < 20) return false;
    return (u32{buf_[12]} << 24 | u32{buf_[13]} << 16 | u32{buf_[14]} << 8 | buf_[15]) == src;
}

void HeldPacket::expire(u64 now_ms, bool now) {
    if (!len_ || (!now && now_ms - at_ms_ <= kMaxAgeMs)) return;
    len_ = 0;
    ++c_.dropped;
}

}  // namespace tv::vpn
