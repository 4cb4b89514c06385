// ESP in tunnel mode (RFC 4303) with AES-GCM-16 (RFC 4106): an inner IPv4 packet to an ESP
// packet and back. The outer UDP framing (RFC 3948) is vpn/esp_udp.hpp; the SAs vpn/sa.hpp.
//
// The packet:  SPI (4) | sequence number (4) | IV (8) | ciphertext | ICV (16)
// ciphertext:  the inner packet | padding 1, 2, 3, ... | pad length (1) | next header 4 (IPv4)
// The GCM nonce is the SA's salt followed by the IV; the AAD is SPI || sequence number (no
// ESN). The IV is the 64-bit sequence number: unique per SA because the number only grows and
// the SA stops at 2^32 - 1 (sa.hpp kSeqHard), and the key is fresh per SA, so no (key, nonce)
// pair repeats, which is all GCM needs of its IV (RFC 4106 section 3.1 allows a counter).
//
// In the monitor, seal and open take an FpuGuard (crypto/fpu_guard.hpp) around the GCM work
// themselves, after the cheap checks: a replay or an unknown SPI costs no FXSAVE. A guard
// nested in another is free, so the caller may hold one outer guard across a batch of
// packets and pay for one FXSAVE/FXRSTOR in all.
//
// Open checks, in an order that rejects cheaply and never lets a forgery change state:
// length, SPI, the replay window (check only), the ICV (constant-time), then the window update,
// padding, next header and the inner IPv4 header. Every rejection has its own counter.
#pragma once

#include "core/types.hpp"
#include "vpn/sa.hpp"

namespace tv::vpn {

inline constexpr u64 kEspHeaderBytes = 8;  // SPI, sequence number
inline constexpr u64 kEspIvBytes = 8;
inline constexpr u64 kEspTrailerBytes = 2;  // pad length, next header
inline constexpr u64 kEspMinPacket = kEspHeaderBytes + kEspIvBytes + kEspTrailerBytes + kIcvBytes;
inline constexpr u64 kEspMaxOverhead = kEspMinPacket + 3;  // plus at most 3 bytes of padding
inline constexpr u8 kNextHeaderIpv4 = 4;
inline constexpr u8 kNextHeaderNone = 59;  // a dummy packet (RFC 4303 section 2.6)
inline constexpr u64 kIpv4MinHeader = 20;

enum class EspVerdict : u8 {
    Ok,
    UnknownSpi,
    Truncated,
    Replay,
    BadIcv,
    BadPadding,
    BadNextHeader,
    BadInner,  // the decrypted packet is not a consistent IPv4 packet
    Dummy,     // next header 59: authentic, dropped without a complaint
    Expired,   // the inbound SA is past its hard lifetime (sa_expired)
};

[[nodiscard]] char const* verdict_name(EspVerdict v);

// Counters for `thinvisor-ctl vpn` and the tests: one per outcome.
struct EspStats {
    u64 sealed{0};
    u64 seal_refused{0};  // no outbound SA, hard limit reached, bad inner packet, no room
    u64 opened{0};
    u64 unknown_spi{0};
    u64 truncated{0};
    u64 replay{0};
    u64 bad_icv{0};
    u64 bad_padding{0};
    u64 bad_next_header{0};
    u64 bad_inner{0};
    u64 dummy{0};
    u64 expired{0};
};

// inner (an IPv4 packet, inner_len bytes) sealed with pair's outbound SA into out (out_cap
// bytes; esp_sealed_len(inner_len) are needed). out must not overlap inner. Refused when the
// SA reached a hard limit (see sa_limit; the sequence number never wraps), Invalid for a
// packet that is not IPv4 or a too small out. *limit reports sa_limit after sealing, so the
// caller can ask IKE for a rekey at Soft.
[[nodiscard]] Status esp_seal(SaPair& pair, u64 now_s, u8 const* inner, u64 inner_len, u8* out,
                              u64 out_cap, u64* out_len, SaLimit* limit, EspStats& stats);

[[nodiscard]] constexpr u64 esp_sealed_len(u64 inner_len) {
    u64 const body = inner_len + kEspTrailerBytes;
    return kEspHeaderBytes + kEspIvBytes + (body + 3) / 4 * 4 + kIcvBytes;
}

struct EspOpened {
    EspVerdict verdict{EspVerdict::Truncated};
    SaPair* pair{nullptr};  // the SA it arrived on, once the SPI was found
    u64 inner_off{0};       // on Ok: the inner IPv4 packet is pkt[inner_off, inner_off + inner_len)
    u64 inner_len{0};
};

// Opens the ESP packet pkt (len bytes, the UDP payload after the non-ESP-marker check) in
// place: on Ok the inner packet lies inside pkt. On any other verdict the packet must be
// dropped; its bytes may have been overwritten, never with unauthenticated plaintext. now_s
// (the clock install() was given) refuses an SA past its hard lifetime.
[[nodiscard]] EspOpened esp_open(SaDb& db, u8* pkt, u64 len, EspStats& stats, u64 now_s);

}  // namespace tv::vpn
