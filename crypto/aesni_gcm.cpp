// AES-GCM with AES-NI and PCLMULQDQ: four counter blocks in flight, their GHASH aggregated.
//
// Method (Gueron and Kounavis, "Intel Carry-Less Multiplication Instruction and its Usage for
// Computing the GCM Mode", Intel white paper, rev. 2.02, 2014; written from its description):
// - GHASH works on byte-reflected blocks: PSHUFB reverses each block's bytes, so the 128-bit
//   value is a polynomial whose bit order is GCM's reversed, and a multiplication is PCLMULQDQ
//   (schoolbook, four 64x64 products), a one-bit left shift of the 256-bit product (the
//   reflection's off-by-one), and a reduction modulo x^128 + x^7 + x^2 + x + 1 by shifts and
//   XORs (the paper's Algorithm 5).
// - Aggregated reduction: Y_i+4 = (Y_i ^ C_1) H^4 ^ C_2 H^3 ^ C_3 H^2 ^ C_4 H. The four
//   unreduced products are XORed and reduced once, so the costly shift-and-reduce is paid once
//   per four blocks. H^2..H^4 are computed at key setup.
// - CTR: AESENC has a latency of several cycles and a throughput of about one a cycle, so four
//   independent counter blocks go through the rounds together.
//
// GCM itself (NIST SP 800-38D section 7) with a 96-bit IV: J0 = IV || 0^31 || 1, the data
// encrypted with counters inc32(J0), inc32^2(J0)...; tag = E(K, J0) ^ GHASH(A, C, lengths).
#include "crypto/aesni_gcm.hpp"

#if defined(__AVX__)
// VEX-encoded instructions would zero the upper halves of the guest's ymm registers, which
// FXSAVE (crypto/fpu_guard.hpp) does not save. Build this file with SSE only.
#error "aesni_gcm.cpp must be compiled without AVX"
#endif

#include <emmintrin.h>
#include <tmmintrin.h>
#include <wmmintrin.h>

#include "crypto/secure_zero.hpp"

namespace tv::crypto::aesni {

namespace {

using V = __m128i;

#define TV_HOT inline __attribute__((always_inline))

TV_HOT V load(u8 const* p) { return _mm_loadu_si128(reinterpret_cast<V const*>(p)); }
TV_HOT void store(u8* p, V v) { _mm_storeu_si128(reinterpret_cast<V*>(p), v); }
TV_HOT V key_at(GcmKeys const& k, unsigned r) {
    return _mm_load_si128(reinterpret_cast<V const*>(k.rk[r]));
}
TV_HOT V h_at(GcmKeys const& k, unsigned i) {
    return _mm_load_si128(reinterpret_cast<V const*>(k.h[i]));
}
TV_HOT V bswap(V x) {
    return _mm_shuffle_epi8(x, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
}
TV_HOT V x(V a, V b) { return _mm_xor_si128(a, b); }

// ---- AES key schedule (FIPS-197 section 5.2) -----------------------------------------------

// Mixing step of the key expansion: w ^ (w << 32) ^ (w << 64) ^ (w << 96).
inline V prefix_xor(V w) {
    w = x(w, _mm_slli_si128(w, 4));
    w = x(w, _mm_slli_si128(w, 4));
    return x(w, _mm_slli_si128(w, 4));
}

template <int Rcon>
inline V next128(V k) {
    return x(prefix_xor(k), _mm_shuffle_epi32(_mm_aeskeygenassist_si128(k, Rcon), 0xFF));
}

void expand_128(V* rk, u8 const* key) {
    rk[0] = load(key);
    rk[1] = next128<0x01>(rk[0]);
    rk[2] = next128<0x02>(rk[1]);
    rk[3] = next128<0x04>(rk[2]);
    rk[4] = next128<0x08>(rk[3]);
    rk[5] = next128<0x10>(rk[4]);
    rk[6] = next128<0x20>(rk[5]);
    rk[7] = next128<0x40>(rk[6]);
    rk[8] = next128<0x80>(rk[7]);
    rk[9] = next128<0x1B>(rk[8]);
    rk[10] = next128<0x36>(rk[9]);
}

// Nk = 8: rk[i+2] from rk[i] and RotWord/SubWord of rk[i+1]'s last word with rcon; rk[i+3]
// from rk[i+1] and SubWord (no rotation, no rcon) of rk[i+2]'s last word.
template <int Rcon>
inline void next256(V* rk, unsigned i) {
    rk[i + 2] =
        x(prefix_xor(rk[i]), _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[i + 1], Rcon), 0xFF));
    if (i + 3 > 14)
        return;
    rk[i + 3] =
        x(prefix_xor(rk[i + 1]), _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[i + 2], 0), 0xAA));
}

void expand_256(V* rk, u8 const* key) {
    rk[0] = load(key);
    rk[1] = load(key + 16);
    next256<0x01>(rk, 0);
    next256<0x02>(rk, 2);
    next256<0x04>(rk, 4);
    next256<0x08>(rk, 6);
    next256<0x10>(rk, 8);
    next256<0x20>(rk, 10);
    next256<0x40>(rk, 12);
}

template <unsigned R>
TV_HOT V encrypt_block(GcmKeys const& k, V b) {
    b = x(b, key_at(k, 0));
#pragma GCC unroll 13
    for (unsigned r = 1; r < R; ++r)
        b = _mm_aesenc_si128(b, key_at(k, r));
    return _mm_aesenclast_si128(b, key_at(k, R));
}

// ---- GHASH ---------------------------------------------------------------------------------

// A 256-bit carry-less product before reduction, its middle term not yet folded in, so that
// several products can be summed with three XORs each.
struct Wide {
    V lo, mid, hi;
};

TV_HOT Wide clmul(V a, V b) {
    return {_mm_clmulepi64_si128(a, b, 0x00),
            x(_mm_clmulepi64_si128(a, b, 0x10), _mm_clmulepi64_si128(a, b, 0x01)),
            _mm_clmulepi64_si128(a, b, 0x11)};
}

TV_HOT void accumulate(Wide& w, V a, V b) {
    Wide const p = clmul(a, b);
    w.lo = x(w.lo, p.lo);
    w.mid = x(w.mid, p.mid);
    w.hi = x(w.hi, p.hi);
}

// Folds the middle term, shifts the 256-bit product left by one bit and reduces it modulo
// the GCM polynomial (bit-reflected).
TV_HOT V reduce(Wide w) {
    V lo = x(w.lo, _mm_slli_si128(w.mid, 8));
    V hi = x(w.hi, _mm_srli_si128(w.mid, 8));

    // [hi:lo] <<= 1 across all four 32-bit lanes of both halves.
    V const lo_carry = _mm_srli_epi32(lo, 31);
    V const hi_carry = _mm_srli_epi32(hi, 31);
    lo = _mm_slli_epi32(lo, 1);
    hi = _mm_slli_epi32(hi, 1);
    hi = _mm_or_si128(hi, _mm_srli_si128(lo_carry, 12));  // bit 127 of lo into bit 0 of hi
    lo = _mm_or_si128(lo, _mm_slli_si128(lo_carry, 4));
    hi = _mm_or_si128(hi, _mm_slli_si128(hi_carry, 4));

    // First phase: multiply the low half by x^63 + x^62 + x^57 (the reflected reduction
    // polynomial's low terms) and fold what lands in the low 128 bits.
    V a = x(x(_mm_slli_epi32(lo, 31), _mm_slli_epi32(lo, 30)), _mm_slli_epi32(lo, 25));
    V const spill = _mm_srli_si128(a, 4);
    lo = x(lo, _mm_slli_si128(a, 12));
    // Second phase: the remaining shifts by 1, 2 and 7, and the fold into the high half.
    V b = x(x(_mm_srli_epi32(lo, 1), _mm_srli_epi32(lo, 2)), _mm_srli_epi32(lo, 7));
    b = x(b, spill);
    lo = x(lo, b);
    return x(hi, lo);
}

TV_HOT V gf_mul(V a, V b) { return reduce(clmul(a, b)); }

// Y = (Y ^ c0) H^4 ^ c1 H^3 ^ c2 H^2 ^ c3 H, the blocks already byte-reflected.
TV_HOT V ghash4(GcmKeys const& k, V y, V c0, V c1, V c2, V c3) {
    Wide w = clmul(x(y, c0), h_at(k, 3));
    accumulate(w, c1, h_at(k, 2));
    accumulate(w, c2, h_at(k, 1));
    accumulate(w, c3, h_at(k, 0));
    return reduce(w);
}

// One block of at most 16 bytes, zero-padded (SP 800-38D section 6.4).
TV_HOT V load_partial(u8 const* p, u64 n) {
    alignas(16) u8 buf[16] = {};
    for (u64 i = 0; i < n; ++i)
        buf[i] = p[i];
    return _mm_load_si128(reinterpret_cast<V const*>(buf));
}

V ghash_bytes(GcmKeys const& k, V y, u8 const* p, u64 n) {
    V const h = h_at(k, 0);
    for (; n >= 16; n -= 16, p += 16)
        y = gf_mul(x(y, bswap(load(p))), h);
    if (n > 0)
        y = gf_mul(x(y, bswap(load_partial(p, n))), h);
    return y;
}

// ---- the combined pass ---------------------------------------------------------------------

// Counter block i after J0, from the byte-reflected J0 (its counter is then lane 0).
TV_HOT V counter(V j0r, u32 i) {
    return bswap(_mm_add_epi32(j0r, _mm_set_epi32(0, 0, 0, static_cast<int>(i))));
}

// Encrypts (or decrypts) len bytes in CTR mode and returns GHASH over the ciphertext and the
// AAD, before the length block. Seal hashes what it writes, open what it reads.
template <unsigned R, bool Seal>
V ctr_ghash(GcmKeys const& k, V j0r, V y, u8 const* in, u8* out, u64 len) {
    u32 ctr = 1;
    for (; len >= 64; len -= 64, in += 64, out += 64, ctr += 4) {
        V b0 = counter(j0r, ctr), b1 = counter(j0r, ctr + 1);
        V b2 = counter(j0r, ctr + 2), b3 = counter(j0r, ctr + 3);
        V key = key_at(k, 0);
        b0 = x(b0, key), b1 = x(b1, key), b2 = x(b2, key), b3 = x(b3, key);
#pragma GCC unroll 13
        for (unsigned r = 1; r < R; ++r) {
            key = key_at(k, r);
            b0 = _mm_aesenc_si128(b0, key), b1 = _mm_aesenc_si128(b1, key);
            b2 = _mm_aesenc_si128(b2, key), b3 = _mm_aesenc_si128(b3, key);
        }
        key = key_at(k, R);
        V const i0 = load(in), i1 = load(in + 16), i2 = load(in + 32), i3 = load(in + 48);
        V const o0 = x(_mm_aesenclast_si128(b0, key), i0);
        V const o1 = x(_mm_aesenclast_si128(b1, key), i1);
        V const o2 = x(_mm_aesenclast_si128(b2, key), i2);
        V const o3 = x(_mm_aesenclast_si128(b3, key), i3);
        store(out, o0), store(out + 16, o1), store(out + 32, o2), store(out + 48, o3);
        if (Seal)
            y = ghash4(k, y, bswap(o0), bswap(o1), bswap(o2), bswap(o3));
        else
            y = ghash4(k, y, bswap(i0), bswap(i1), bswap(i2), bswap(i3));
    }
    V const h = h_at(k, 0);
    for (; len > 0; ++ctr) {
        u64 const n = len < 16 ? len : 16;
        V const ks = encrypt_block<R>(k, counter(j0r, ctr));
        V const i = n == 16 ? load(in) : load_partial(in, n);
        V o = x(ks, i);
        if (n == 16) {
            store(out, o);
        } else {
            alignas(16) u8 buf[16];
            _mm_store_si128(reinterpret_cast<V*>(buf), o);
            for (u64 j = 0; j < n; ++j)
                out[j] = buf[j];
            o = load_partial(buf, n);  // the keystream beyond n must not enter GHASH
        }
        y = gf_mul(x(y, bswap(Seal ? o : i)), h);
        in += n, out += n, len -= n;
    }
    return y;
}

template <unsigned R, bool Seal>
void gcm(GcmKeys const& k, u8 const* nonce, u8 const* aad, u64 aad_len, u8 const* in, u8* out,
         u64 len, u8* tag) {
    alignas(16) u8 j0[16] = {};
    for (unsigned i = 0; i < 12; ++i)
        j0[i] = nonce[i];
    j0[15] = 1;
    V const j0v = _mm_load_si128(reinterpret_cast<V const*>(j0));
    V y = ghash_bytes(k, _mm_setzero_si128(), aad, aad_len);
    y = ctr_ghash<R, Seal>(k, bswap(j0v), y, in, out, len);
    // The length block: len(A) || len(C) in bits, big-endian; byte-reflected, len(C) is the
    // low 64-bit lane.
    V const lens =
        _mm_set_epi64x(static_cast<long long>(aad_len * 8), static_cast<long long>(len * 8));
    y = gf_mul(x(y, lens), h_at(k, 0));
    store(tag, x(bswap(y), encrypt_block<R>(k, j0v)));
}

template <bool Seal>
void dispatch(GcmKeys const& k, u8 const* nonce, u8 const* aad, u64 aad_len, u8 const* in, u8* out,
              u64 len, u8* tag) {
    if (k.rounds == 14)
        gcm<14, Seal>(k, nonce, aad, aad_len, in, out, len, tag);
    else
        gcm<10, Seal>(k, nonce, aad, aad_len, in, out, len, tag);
}

#undef TV_HOT

}  // namespace

void gcm_expand(GcmKeys& out, u8 const* key, u64 key_len) {
    V rk[kGcmMaxRounds + 1] = {};
    if (key_len == 32) {
        expand_256(rk, key);
        out.rounds = 14;
    } else {
        expand_128(rk, key);
        out.rounds = 10;
    }
    for (unsigned r = 0; r <= kGcmMaxRounds; ++r)
        store(out.rk[r], rk[r]);
    // H = E(K, 0^128), byte-reflected, and its powers for the aggregated GHASH.
    V const h = bswap(out.rounds == 14 ? encrypt_block<14>(out, _mm_setzero_si128())
                                       : encrypt_block<10>(out, _mm_setzero_si128()));
    V p = h;
    for (unsigned i = 0; i < kGcmHPowers; ++i) {
        store(out.h[i], p);
        p = gf_mul(p, h);
    }
    for (auto& v : rk)  // the schedule is key material: leave none on the stack
        v = _mm_setzero_si128();
    asm volatile("" : : "r"(rk) : "memory");
}

void gcm_seal(GcmKeys const& k, u8 const* nonce, u8 const* aad, u64 aad_len, u8 const* in, u8* out,
              u64 len, u8* tag) {
    dispatch<true>(k, nonce, aad, aad_len, in, out, len, tag);
}

bool gcm_open(GcmKeys const& k, u8 const* nonce, u8 const* aad, u64 aad_len, u8 const* in, u8* out,
              u64 len, u8 const* tag) {
    u8 computed[16];
    dispatch<false>(k, nonce, aad, aad_len, in, out, len, computed);
    bool const good = ct_equal(computed, tag, 16);
    if (!good)
        secure_zero(out, len);  // one pass decrypts as it hashes: release no plaintext
    return good;
}

}  // namespace tv::crypto::aesni
