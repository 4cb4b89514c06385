#include "vpn/guest/guest_net.hpp"

namespace tv::vpn {

u32 gateway_for(u32 address, u8 prefix) {
    if (prefix < 1 || prefix > 30) return 0;
    u32 const mask = ~0u << (32 - prefix);
    u32 const net = address & mask, bcast = net | ~mask;
    if (address == net || address == bcast) return 0;
    return address == net + 1 ? bcast - 1 : net + 1;
}

}  // namespace tv::vpn
