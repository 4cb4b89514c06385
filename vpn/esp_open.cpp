// ESP open: vpn/esp.hpp gives the order of the checks and why.
#include <string.h>

#include "crypto/fpu_guard.hpp"
#include "vpn/esp.hpp"
#include "vpn/be.hpp"

namespace tv::vpn {

namespace {

EspOpened drop(EspStats& stats, EspVerdict v, SaPair* pair) {
    switch (v) {
    case EspVerdict::UnknownSpi:
        ++stats.unknown_spi;
        break;
    case EspVerdict::Truncated:
        ++stats.truncated;
        break;
    case EspVerdict::Replay:
        ++stats.replay;
        break;
    case EspVerdict::BadIcv:
        ++stats.bad_icv;
        break;
    case EspVerdict::BadPadding:
        ++stats.bad_padding;
        break;
    case EspVerdict::BadNextHeader:
        ++stats.bad_next_header;
        break;
    case EspVerdict::BadInner:
        ++stats.bad_inner;
        break;
    case EspVerdict::Dummy:
        ++stats.dummy;
        break;
    case EspVerdict::Expired:
        ++stats.expired;
        break;
    case EspVerdict::Ok:
        break;
    }
    return {v, pair, 0, 0};
}

// RFC 4303 section 2.4: padding bytes are 1, 2, 3, ... in order.
bool padding_ok(u8 const* pad, u64 n) {
    u8 bad = 0;
    for (u64 i = 0; i < n; ++i)
        bad = static_cast<u8>(bad | (pad[i] ^ static_cast<u8>(i + 1)));
    return bad == 0;
}

// The inner packet must be IPv4 with a header inside it and a total length that fits what was
// decrypted. A shorter total length is allowed: RFC 4303 section 2.7 lets the sender add
// traffic-flow-confidentiality padding after the inner packet, which is cut off here.
bool inner_ok(u8 const* p, u64 len, u64* total) {
    if (len < kIpv4MinHeader || (p[0] >> 4) != 4)
        return false;
    u64 const ihl = u64{p[0] & 0x0Fu} * 4;
    u64 const tot = get_be16(p + 2);
    if (ihl < kIpv4MinHeader || tot < ihl || tot > len)
        return false;
    *total = tot;
    return true;
}

}  // namespace

EspOpened esp_open(SaDb& db, u8* pkt, u64 len, EspStats& stats, u64 now_s) {
    if (len < kEspHeaderBytes)
        return drop(stats, EspVerdict::Truncated, nullptr);
    SaPair* pair = db.find_inbound(get_be32(pkt));
    if (pair == nullptr)
        return drop(stats, EspVerdict::UnknownSpi, nullptr);
    if (sa_expired(*pair, now_s))  // IKE failed to replace it in time: it carries nothing more
        return drop(stats, EspVerdict::Expired, pair);
    if (len < kEspMinPacket || len - kEspMinPacket > crypto::kGcmMaxData)
        return drop(stats, EspVerdict::Truncated, pair);
    ChildSa& sa = pair->in;
    u32 const seq = get_be32(pkt + 4);
    if (!sa.replay.check(seq))  // before the costly decryption
        return drop(stats, EspVerdict::Replay, pair);

    u8 nonce[crypto::kGcmNonceBytes];
    memcpy(nonce, sa.salt, kSaltBytes);
    memcpy(nonce + kSaltBytes, pkt + kEspHeaderBytes, kEspIvBytes);
    u8* body = pkt + kEspHeaderBytes + kEspIvBytes;
    u64 const body_len = len - kEspHeaderBytes - kEspIvBytes - kIcvBytes;
    Status st;
    {
        crypto::FpuGuard guard;  // GCM uses xmm registers: the guest's are saved around it
        st = sa.gcm.open(nonce, pkt, kEspHeaderBytes, body, body, body_len, body + body_len);
    }
    if (!ok(st))
        return drop(stats, EspVerdict::BadIcv, pair);
    sa.replay.update(seq);  // authentic: only now may it move the window

    u64 const pad = body[body_len - 2];
    u8 const next = body[body_len - 1];
    if (pad + kEspTrailerBytes > body_len || !padding_ok(body + body_len - 2 - pad, pad))
        return drop(stats, EspVerdict::BadPadding, pair);
    if (next == kNextHeaderNone)
        return drop(stats, EspVerdict::Dummy, pair);
    if (next != kNextHeaderIpv4)
        return drop(stats, EspVerdict::BadNextHeader, pair);
    u64 inner_len = 0;
    if (!inner_ok(body, body_len - kEspTrailerBytes - pad, &inner_len))
        return drop(stats, EspVerdict::BadInner, pair);

    ++sa.counters.packets;
    sa.counters.bytes += inner_len;
    ++stats.opened;
    return {EspVerdict::Ok, pair, kEspHeaderBytes + kEspIvBytes, inner_len};
}

}  // namespace tv::vpn
