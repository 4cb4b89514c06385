// Network byte order for vpn/ (ESP, IKE and the guest side share it): every field on the wire
// is big-endian.
#pragma once

#include "core/types.hpp"

namespace tv::vpn {

[[nodiscard]] inline u16 get_be16(u8 const* p) { return static_cast<u16>(p[0] << 8 | p[1]); }
[[nodiscard]] inline u32 get_be32(u8 const* p) {
    return u32{p[0]} << 24 | u32{p[1]} << 16 | u32{p[2]} << 8 | u32{p[3]};
}
inline void put_be16(u8* p, u16 v) {
    p[0] = static_cast<u8>(v >> 8);
    p[1] = static_cast<u8>(v);
}
inline void put_be32(u8* p, u32 v) {
    for (int i = 0; i < 4; ++i)
        p[i] = static_cast<u8>(v >> (24 - 8 * i));
}
inline void put_be64(u8* p, u64 v) {
    for (int i = 0; i < 8; ++i)
        p[i] = static_cast<u8>(v >> (56 - 8 * i));
}

}  // namespace tv::vpn
