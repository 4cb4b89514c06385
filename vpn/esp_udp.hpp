// UDP encapsulation of ESP (RFC 3948): what arrives on UDP port 4500 and what is sent there.
//
// IKE and ESP share the port. A UDP payload that starts with four zero bytes (the non-ESP
// marker, where an ESP packet has its SPI, which is never 0) is IKE, the marker stripped; a
// payload of the single byte 0xFF is a NAT-keepalive; anything else is ESP. The UDP checksum
// of ESP-in-UDP is sent as zero (RFC 3948 section 2.1): ESP's ICV covers the payload.
#pragma once

#include "core/types.hpp"

namespace tv::vpn {

inline constexpr u64 kNonEspMarkerBytes = 4;
inline constexpr u8 kNatKeepalive = 0xFF;

enum class Udp4500Kind : u8 {
    Esp,        // hand the payload to esp_open
    Ike,        // hand payload + kNonEspMarkerBytes to IKE
    Keepalive,  // ignore
    Malformed,  // shorter than an SPI, or a marker with nothing after it: drop, count
};

[[nodiscard]] Udp4500Kind classify_udp4500(u8 const* payload, u64 len);

// Writes the non-ESP marker before an IKE message: out needs kNonEspMarkerBytes + len bytes.
void frame_ike_for_udp4500(u8 const* ike, u64 len, u8* out);

}  // namespace tv::vpn
