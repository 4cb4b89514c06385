// TCP segmentation offload (the 8254x SDM's "TCP segmentation"), done by the monitor for a
// guest packet it copies out: in copy-out mode the device never sees the guest's packet, so
// the monitor cuts a TSO send into the frames the wire would have carried before the switch's
// policy (the VPN) sees them. The guest's Linux e1000 driver enables TSO by default.
//
// A TSO packet is a context descriptor with TUCMD.TSE (HDRLEN, MSS, PAYLEN and the IP and TCP
// header offsets IPCSS and TUCSS) and data descriptors with DCMD.TSE: HDRLEN bytes of
// Ethernet, IPv4 and TCP headers, then PAYLEN bytes of payload. Each frame made of it is the
// headers and up to MSS bytes of payload, with
//   - the IPv4 total length for that frame, the identification of the first plus its index,
//     and the header checksum computed anew;
//   - the TCP sequence number moved on by the payload before it, FIN and PSH kept only on the
//     last frame and CWR only on the first, and the checksum computed anew over the pseudo
//     header (the device would add the driver's seed in the field; the monitor does not
//     depend on it).
// Only IPv4 and TCP: the 82540EM offers no IPv6 TSO (Linux's e1000 asks for it from the
// 82571 on) and UDP has no segmentation. A context that does not describe the packet is
// refused as a whole, before any frame is made: no half-sent packet reaches the policy.
// Pure: host-tested (tests/unit/test_e1000_tso.cpp) and fuzzed (fuzz_e1000).
#pragma once

#include "core/types.hpp"
#include "drivers/nic/e1000_regs.hpp"

namespace tv::nic {

struct TsoContext {
    bool tse;           // TUCMD.TSE: the context describes a segmentation at all
    bool ipv4, tcp;     // TUCMD.IP, TUCMD.TCP
    u32 hdrlen, mss, paylen;
    u32 ipcss, tucss;   // where the IPv4 and the TCP header start
};

TsoContext tso_context(e1000::TxDesc const& context);

enum class TsoVerdict : u8 {
    Ok,
    NoTsoContext,       // data descriptors with TSE after a context without it
    HeaderBeyondFrame,  // HDRLEN 0, or past the bytes the packet holds
    ZeroMss,
    TooLong,            // more than 64 KiB of payload
    NotTcp,             // TUCMD says UDP, or the IPv4 header names another protocol
    NotIpv4,            // TUCMD says IPv6, or the header at IPCSS is not IPv4
    BadHeaders,         // the IPv4 or TCP header does not fit HDRLEN, or TCP does not end at it
    LengthMismatch,     // PAYLEN is not the payload the descriptors carried
    NoPayload,
    SegmentTooBig,      // HDRLEN + MSS larger than a frame
    kCount,
};
char const* tso_verdict_name(TsoVerdict v);

inline constexpr u32 kTsoMaxPayload = 65535;

// What a context says the device may do, checked without the packet: for a TSO packet the
// device segments itself (zero-copy), whose bytes the guest can still change after the
// doorbell. TSE with IPv4 and TCP, HDRLEN non-zero, MSS non-zero, HDRLEN + MSS within
// frame_max, PAYLEN within 64 KiB: every frame the device makes is then an ordinary one.
[[nodiscard]] TsoVerdict tso_context_check(TsoContext const& c, u32 frame_max);

using TsoSink = void (*)(void* ctx, u8 const* frame, u32 len);

// Checks `packet` (len bytes: the headers, then the payload) against `c`, then hands each
// frame to sink in order, built in `scratch` (frame_max bytes: the largest frame allowed).
// *segments: how many frames were handed over (0 unless Ok).
[[nodiscard]] TsoVerdict tso_segment(u8 const* packet, u32 len, TsoContext const& c, u8* scratch, u32 frame_max,
                                     TsoSink sink, void* ctx, u32* segments);

}  // namespace tv::nic
