// ESP seal: vpn/esp.hpp describes the packet and why the IV is the sequence number.
#include <string.h>

#include "crypto/fpu_guard.hpp"
#include "vpn/esp.hpp"
#include "vpn/be.hpp"

namespace tv::vpn {

namespace {

Status refuse(EspStats& stats, Status why) {
    ++stats.seal_refused;
    return why;
}

}  // namespace

char const* verdict_name(EspVerdict v) {
    switch (v) {
    case EspVerdict::Ok:
        return "ok";
    case EspVerdict::UnknownSpi:
        return "unknown SPI";
    case EspVerdict::Truncated:
        return "truncated";
    case EspVerdict::Replay:
        return "replayed";
    case EspVerdict::BadIcv:
        return "bad ICV";
    case EspVerdict::BadPadding:
        return "bad padding";
    case EspVerdict::BadNextHeader:
        return "bad next header";
    case EspVerdict::BadInner:
        return "bad inner packet";
    case EspVerdict::Dummy:
        return "dummy packet";
    case EspVerdict::Expired:
        return "SA past its hard lifetime";
    }
    return "?";
}

Status esp_seal(SaPair& pair, u64 now_s, u8 const* inner, u64 inner_len, u8* out, u64 out_cap,
                u64* out_len, SaLimit* limit, EspStats& stats) {
    ChildSa& sa = pair.out;
    *limit = sa_limit(pair, now_s);
    if (!pair.live || *limit == SaLimit::Hard || sa.seq >= kSeqHard)
        return refuse(stats, Status::Refused);
    if (inner_len < kIpv4MinHeader || inner_len > crypto::kGcmMaxData || (inner[0] >> 4) != 4)
        return refuse(stats, Status::Invalid);
    u64 const total = esp_sealed_len(inner_len);
    if (out_cap < total)
        return refuse(stats, Status::Invalid);

    u32 const seq = ++sa.seq;
    put_be32(out, sa.spi);
    put_be32(out + 4, seq);
    put_be64(out + 8, seq);  // the IV
    u8 nonce[crypto::kGcmNonceBytes];
    memcpy(nonce, sa.salt, kSaltBytes);
    memcpy(nonce + kSaltBytes, out + 8, kEspIvBytes);

    // Plaintext in place in out: the inner packet, padding 1, 2, ..., pad length, next header.
    u8* body = out + kEspHeaderBytes + kEspIvBytes;
    u64 const body_len = total - kEspHeaderBytes - kEspIvBytes - kIcvBytes;
    u64 const pad = body_len - inner_len - kEspTrailerBytes;
    memcpy(body, inner, inner_len);
    for (u64 i = 0; i < pad; ++i)
        body[inner_len + i] = static_cast<u8>(i + 1);
    body[body_len - 2] = static_cast<u8>(pad);
    body[body_len - 1] = kNextHeaderIpv4;

    Status st;
    {
        crypto::FpuGuard guard;  // GCM uses xmm registers: the guest's are saved around it
        st = sa.gcm.seal(nonce, out, kEspHeaderBytes, body, body, body_len, body + body_len);
    }
    if (!ok(st))
        return refuse(stats, st);
    ++sa.counters.packets;
    sa.counters.bytes += inner_len;
    ++stats.sealed;
    *out_len = total;
    *limit = sa_limit(pair, now_s);
    return Status::Ok;
}

}  // namespace tv::vpn
