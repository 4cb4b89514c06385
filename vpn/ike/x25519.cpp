// X25519 after RFC 7748 §5 (vpn/ike/x25519.hpp says why it is not mbedTLS's).
#include "vpn/ike/x25519.hpp"

#include "crypto/secure_zero.hpp"

namespace tv::vpn::ike {

namespace {

using u128 = unsigned __int128;
constexpr u64 kMask = (u64{1} << 51) - 1;

// An element of GF(2^255 - 19): sum of l[i] * 2^(51 i). Limbs stay below 2^54 between
// operations, so every product sum below fits 128 bits.
struct Fe {
    u64 l[5];
};

Fe fe_add(Fe const& a, Fe const& b) {
    return Fe{{a.l[0] + b.l[0], a.l[1] + b.l[1], a.l[2] + b.l[2], a.l[3] + b.l[3], a.l[4] + b.l[4]}};
}

// a - b + 4p: never negative for limbs below 2^53.
Fe fe_sub(Fe const& a, Fe const& b) {
    constexpr u64 k4p0 = 0x1FFFFFFFFFFFB4, k4pi = 0x1FFFFFFFFFFFFC;
    return Fe{{a.l[0] + k4p0 - b.l[0], a.l[1] + k4pi - b.l[1], a.l[2] + k4pi - b.l[2],
               a.l[3] + k4pi - b.l[3], a.l[4] + k4pi - b.l[4]}};
}

// The carry chain after a product: limbs back below 2^51 (+ a little in limb 1); 2^255 = 19.
Fe fe_carry(u128 (&r)[5]) {
    Fe o{};
    r[1] += r[0] >> 51;
    o.l[0] = static_cast<u64>(r[0]) & kMask;
    r[2] += r[1] >> 51;
    o.l[1] = static_cast<u64>(r[1]) & kMask;
    r[3] += r[2] >> 51;
    o.l[2] = static_cast<u64>(r[2]) & kMask;
    r[4] += r[3] >> 51;
    o.l[3] = static_cast<u64>(r[3]) & kMask;
    o.l[4] = static_cast<u64>(r[4]) & kMask;
    u128 const l0 = o.l[0] + (r[4] >> 51) * 19;  // up to 2^64 * 19: kept in 128 bits
    o.l[0] = static_cast<u64>(l0) & kMask;
    o.l[1] += static_cast<u64>(l0 >> 51);
    return o;
}

Fe fe_mul(Fe const& f, Fe const& g) {
    u64 const g1 = g.l[1] * 19, g2 = g.l[2] * 19, g3 = g.l[3] * 19, g4 = g.l[4] * 19;
    auto m = [](u64 x, u64 y) { return static_cast<u128>(x) * y; };
    u128 r[5];
    r[0] = m(f.l[0], g.l[0]) + m(f.l[1], g4) + m(f.l[2], g3) + m(f.l[3], g2) + m(f.l[4], g1);
    r[1] = m(f.l[0], g.l[1]) + m(f.l[1], g.l[0]) + m(f.l[2], g4) + m(f.l[3], g3) + m(f.l[4], g2);
    r[2] = m(f.l[0], g.l[2]) + m(f.l[1], g.l[1]) + m(f.l[2], g.l[0]) + m(f.l[3], g4) + m(f.l[4], g3);
    r[3] = m(f.l[0], g.l[3]) + m(f.l[1], g.l[2]) + m(f.l[2], g.l[1]) + m(f.l[3], g.l[0]) + m(f.l[4], g4);
    r[4] = m(f.l[0], g.l[4]) + m(f.l[1], g.l[3]) + m(f.l[2], g.l[2]) + m(f.l[3], g.l[1]) + m(f.l[4], g.l[0]);
    return fe_carry(r);
}

Fe fe_sq(Fe const& f) { return fe_mul(f, f); }

Fe fe_sq_n(Fe f, int n) {
    for (int i = 0; i < n; ++i)
        f = fe_sq(f);
    return f;
}

Fe fe_mul_small(Fe const& f, u64 k) {
    u128 r[5];
    for (int i = 0; i < 5; ++i)
        r[i] = static_cast<u128>(f.l[i]) * k;
    return fe_carry(r);
}

// z^(p - 2) = z^(2^255 - 21), the inverse (0 for 0): the usual chain of 254 squarings and 11
// multiplications.
Fe fe_invert(Fe const& z) {
    Fe const z2 = fe_sq(z);
    Fe const z9 = fe_mul(fe_sq_n(z2, 2), z);
    Fe const z11 = fe_mul(z9, z2);
    Fe const z5 = fe_mul(fe_sq(z11), z9);           // z^(2^5 - 1)
    Fe const z10 = fe_mul(fe_sq_n(z5, 5), z5);      // 2^10 - 1
    Fe const z20 = fe_mul(fe_sq_n(z10, 10), z10);   // 2^20 - 1
    Fe const z40 = fe_mul(fe_sq_n(z20, 20), z20);   // 2^40 - 1
    Fe const z50 = fe_mul(fe_sq_n(z40, 10), z10);   // 2^50 - 1
    Fe const z100 = fe_mul(fe_sq_n(z50, 50), z50);  // 2^100 - 1
    Fe const z200 = fe_mul(fe_sq_n(z100, 100), z100);
    Fe const z250 = fe_mul(fe_sq_n(z200, 50), z50);  // 2^250 - 1
    return fe_mul(fe_sq_n(z250, 5), z11);            // 2^255 - 32 + 11
}

void fe_cswap(Fe& a, Fe& b, u64 swap) {
    u64 const mask = 0 - swap;
    for (int i = 0; i < 5; ++i) {
        u64 const x = mask & (a.l[i] ^ b.l[i]);
        a.l[i] ^= x;
        b.l[i] ^= x;
    }
}

u64 load64(u8 const* p) {
    u64 v = 0;
    for (int i = 7; i >= 0; --i)
        v = v << 8 | p[i];
    return v;
}

void store64(u8* p, u64 v) {
    for (int i = 0; i < 8; ++i)
        p[i] = static_cast<u8>(v >> (8 * i));
}

// Little-endian, the top bit ignored (RFC 7748 §5).
Fe fe_load(u8 const (&b)[kX25519Bytes]) {
    u64 const w0 = load64(b), w1 = load64(b + 8), w2 = load64(b + 16), w3 = load64(b + 24);
    return Fe{{w0 & kMask, (w0 >> 51 | w1 << 13) & kMask, (w1 >> 38 | w2 << 26) & kMask,
               (w2 >> 25 | w3 << 39) & kMask, (w3 >> 12) & kMask}};
}

// Fully reduced below p, little-endian.
void fe_store(u8 (&out)[kX25519Bytes], Fe f) {
    u128 r[5] = {f.l[0], f.l[1], f.l[2], f.l[3], f.l[4]};
    f = fe_carry(r);
    u128 s[5] = {f.l[0], f.l[1], f.l[2], f.l[3], f.l[4]};
    f = fe_carry(s);  // now below 2^255 + small: at most one p to take off
    u64 q = (f.l[0] + 19) >> 51;
    q = (f.l[1] + q) >> 51;
    q = (f.l[2] + q) >> 51;
    q = (f.l[3] + q) >> 51;
    q = (f.l[4] + q) >> 51;  // 1 iff f >= p
    f.l[0] += 19 * q;
    f.l[1] += f.l[0] >> 51;
    f.l[0] &= kMask;
    f.l[2] += f.l[1] >> 51;
    f.l[1] &= kMask;
    f.l[3] += f.l[2] >> 51;
    f.l[2] &= kMask;
    f.l[4] += f.l[3] >> 51;
    f.l[3] &= kMask;
    f.l[4] &= kMask;  // the 2^255 carried out is the p taken off
    store64(out, f.l[0] | f.l[1] << 51);
    store64(out + 8, f.l[1] >> 13 | f.l[2] << 38);
    store64(out + 16, f.l[2] >> 26 | f.l[3] << 25);
    store64(out + 24, f.l[3] >> 39 | f.l[4] << 12);
}

}  // namespace

void x25519(u8 (&out)[kX25519Bytes], u8 const (&scalar)[kX25519Bytes], u8 const (&u)[kX25519Bytes]) {
    u8 k[kX25519Bytes];
    for (size_t i = 0; i < kX25519Bytes; ++i)
        k[i] = scalar[i];
    k[0] &= 248;
    k[31] = static_cast<u8>((k[31] & 127) | 64);
    Fe const x1 = fe_load(u);
    Fe x2{{1, 0, 0, 0, 0}}, z2{{0, 0, 0, 0, 0}}, x3 = x1, z3{{1, 0, 0, 0, 0}};
    u64 swap = 0;
    for (int t = 254; t >= 0; --t) {
        u64 const kt = (k[t >> 3] >> (t & 7)) & 1;
        swap ^= kt;
        fe_cswap(x2, x3, swap);
        fe_cswap(z2, z3, swap);
        swap = kt;
        Fe const a = fe_add(x2, z2), aa = fe_sq(a);
        Fe const b = fe_sub(x2, z2), bb = fe_sq(b);
        Fe const e = fe_sub(aa, bb);
        Fe const c = fe_add(x3, z3), d = fe_sub(x3, z3);
        Fe const da = fe_mul(d, a), cb = fe_mul(c, b);
        x3 = fe_sq(fe_add(da, cb));
        z3 = fe_mul(x1, fe_sq(fe_sub(da, cb)));
        x2 = fe_mul(aa, bb);
        z2 = fe_mul(e, fe_add(aa, fe_mul_small(e, 121665)));
    }
    fe_cswap(x2, x3, swap);
    fe_cswap(z2, z3, swap);
    fe_store(out, fe_mul(x2, fe_invert(z2)));
    crypto::secure_zero(k, sizeof k);
    crypto::secure_zero(&x2, sizeof x2);
    crypto::secure_zero(&z2, sizeof z2);
    crypto::secure_zero(&x3, sizeof x3);
    crypto::secure_zero(&z3, sizeof z3);
}

void x25519_base(u8 (&out)[kX25519Bytes], u8 const (&scalar)[kX25519Bytes]) {
    static constexpr u8 kNine[kX25519Bytes] = {9};
    x25519(out, scalar, kNine);
}

}  // namespace tv::vpn::ike
