#include "vpn/sa.hpp"

#include <string.h>

#include "crypto/fpu_guard.hpp"
#include "crypto/secure_zero.hpp"

namespace tv::vpn {

namespace {

// One direction's key (RFC 4106 section 8.1: key, then salt) from its KEYMAT slice.
[[nodiscard]] Status key_sa(ChildSa& sa, u32 spi, u8 const* km, u64 key_bytes,
                            crypto::GcmEngine engine) {
    Status const st = sa.gcm.set_key(km, key_bytes, engine);
    if (!ok(st))
        return st;
    sa.spi = spi;
    memcpy(sa.salt, km + key_bytes, kSaltBytes);
    sa.seq = 0;
    sa.replay = ReplayWindow{};
    sa.counters = SaCounters{};
    return Status::Ok;
}

void wipe_sa(ChildSa& sa) {
    sa.gcm.wipe();
    crypto::secure_zero(sa.salt, sizeof sa.salt);
    sa.spi = 0;
    sa.seq = 0;
    sa.replay = ReplayWindow{};
    sa.counters = SaCounters{};
}

bool over(u64 used, u64 limit) { return limit != 0 && used >= limit; }

bool reached(SaPair const& p, Lifetime const& l, u64 now_s) {
    u64 const pk = p.in.counters.packets > p.out.counters.packets ? p.in.counters.packets
                                                                  : p.out.counters.packets;
    u64 const by =
        p.in.counters.bytes > p.out.counters.bytes ? p.in.counters.bytes : p.out.counters.bytes;
    u64 const age = now_s >= p.installed_s ? now_s - p.installed_s : 0;
    return over(pk, l.packets) || over(by, l.bytes) || over(age, l.seconds);
}

}  // namespace

bool SaDb::spi_in_use(u32 spi_in, u32 spi_out) const {
    for (auto const& p : pairs_)
        if (p.live && (p.in.spi == spi_in || p.out.spi == spi_out))
            return true;
    return false;
}

Status SaDb::install(ChildSaSpec const& s) {
    if ((s.key_bytes != 16 && s.key_bytes != 32) || s.keymat == nullptr ||
        s.keymat_len < 2 * (s.key_bytes + kSaltBytes) || s.spi_in == 0 || s.spi_out == 0)
        return Status::Invalid;
    if (spi_in_use(s.spi_in, s.spi_out))
        return Status::Exists;
    u32 slot = kSaPairs;
    for (u32 i = 0; i < kSaPairs; ++i)
        if (!pairs_[i].live) {
            slot = i;
            break;
        }
    if (slot == kSaPairs)
        return Status::NoMemory;

    SaPair& p = pairs_[slot];
    u64 const half = s.key_bytes + kSaltBytes;
    u8 const* out_km = s.initiator ? s.keymat : s.keymat + half;
    u8 const* in_km = s.initiator ? s.keymat + half : s.keymat;
    Status st;
    {
        crypto::FpuGuard guard;  // the key schedules are computed with AES-NI
        st = key_sa(p.out, s.spi_out, out_km, s.key_bytes, s.engine);
        if (ok(st))
            st = key_sa(p.in, s.spi_in, in_km, s.key_bytes, s.engine);
    }
    if (!ok(st)) {
        wipe_sa(p.out);
        wipe_sa(p.in);
        return st;
    }
    p.life = s.life;
    p.encap = s.encap;
    p.installed_s = s.now_s;
    p.live = true;
    order_[slot] = ++installs_;
    active_ = slot;  // the switch: every later seal uses the new pair
    return Status::Ok;
}

SaPair* SaDb::find_inbound(u32 spi) {
    if (spi == 0)
        return nullptr;
    for (auto& p : pairs_)
        if (p.live && p.in.spi == spi)
            return &p;
    return nullptr;
}

SaPair* SaDb::outbound() { return active_ < kSaPairs ? &pairs_[active_] : nullptr; }

void SaDb::remove(u32 slot) {
    SaPair& p = pairs_[slot];
    wipe_sa(p.in);
    wipe_sa(p.out);
    p.live = false;
    p.life = Lifetimes{};
    p.encap = UdpEncap{};
    p.installed_s = 0;
    order_[slot] = 0;
    if (active_ != slot)
        return;
    // The peer deleted the pair we were sending with: fall back to the newest other one.
    active_ = kSaPairs;
    u64 newest = 0;
    for (u32 i = 0; i < kSaPairs; ++i)
        if (pairs_[i].live && order_[i] > newest) {
            newest = order_[i];
            active_ = i;
        }
}

Status SaDb::remove_by_inbound(u32 spi) {
    for (u32 i = 0; i < kSaPairs; ++i)
        if (pairs_[i].live && pairs_[i].in.spi == spi) {
            remove(i);
            return Status::Ok;
        }
    return Status::NotFound;
}

Status SaDb::remove_by_outbound(u32 spi) {
    for (u32 i = 0; i < kSaPairs; ++i)
        if (pairs_[i].live && pairs_[i].out.spi == spi) {
            remove(i);
            return Status::Ok;
        }
    return Status::NotFound;
}

void SaDb::clear() {
    for (u32 i = 0; i < kSaPairs; ++i)
        if (pairs_[i].live)
            remove(i);
}

u32 SaDb::live_pairs() const {
    u32 n = 0;
    for (auto const& p : pairs_)
        n += p.live ? 1 : 0;
    return n;
}

bool sa_expired(SaPair const& p, u64 now_s) { return reached(p, p.life.hard, now_s); }

SaLimit sa_limit(SaPair const& p, u64 now_s) {
    if (p.out.seq >= kSeqHard || reached(p, p.life.hard, now_s))
        return SaLimit::Hard;
    if (p.out.seq >= kSeqSoft || reached(p, p.life.soft, now_s))
        return SaLimit::Soft;
    return SaLimit::Ok;
}

}  // namespace tv::vpn
