#include "vpn/ike/keys.hpp"

#include <mbedtls/md.h>
#include <mbedtls/sha1.h>
#include <mbedtls/sha256.h>

#include "crypto/secure_zero.hpp"
#include "vpn/ike/wire.hpp"

namespace tv::vpn::ike {

namespace {

class Hmac final {
  public:
    Hmac() { mbedtls_md_init(&ctx_); }
    ~Hmac() { mbedtls_md_free(&ctx_); }
    Hmac(Hmac const&) = delete;
    Hmac& operator=(Hmac const&) = delete;
    [[nodiscard]] bool start(u8 const* key, size_t len) {
        mbedtls_md_info_t const* info = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
        return info != nullptr && mbedtls_md_setup(&ctx_, info, 1) == 0 &&
               mbedtls_md_hmac_starts(&ctx_, key, len) == 0;
    }
    [[nodiscard]] bool reset() { return mbedtls_md_hmac_reset(&ctx_) == 0; }
    [[nodiscard]] bool add(u8 const* p, size_t n) {
        return n == 0 || mbedtls_md_hmac_update(&ctx_, p, n) == 0;
    }
    [[nodiscard]] bool finish(u8 (&out)[kPrfBytes]) {
        return mbedtls_md_hmac_finish(&ctx_, out) == 0;
    }

  private:
    mbedtls_md_context_t ctx_;
};

void copy(u8* dst, u8 const* src, size_t n) {
    for (size_t i = 0; i < n; ++i)
        dst[i] = src[i];
}

// Splits key || salt from the stream at *p.
void take_sk(u8 const*& p, u8 key_len, SkKey& k) {
    k.key_len = key_len;
    copy(k.key, p, key_len);
    p += key_len;
    copy(k.salt, p, kSaltBytes);
    p += kSaltBytes;
}

}  // namespace

bool prf(u8 const* key, size_t key_len, Bytes const* parts, size_t nparts, u8 (&out)[kPrfBytes]) {
    Hmac h;
    if (!h.start(key, key_len))
        return false;
    for (size_t i = 0; i < nparts; ++i)
        if (!h.add(parts[i].p, parts[i].n))
            return false;
    return h.finish(out);
}

bool prf_plus(u8 const* key, size_t key_len, Bytes const* seed, size_t nseed, u8* out,
              size_t out_len) {
    if (out_len > 255 * kPrfBytes)
        return false;
    Hmac h;
    if (!h.start(key, key_len))
        return false;
    u8 t[kPrfBytes];
    bool ok = true;
    for (u8 n = 1; ok && out_len != 0; ++n) {
        if (n > 1)
            ok = h.reset() && h.add(t, sizeof t);
        for (size_t i = 0; ok && i < nseed; ++i)
            ok = h.add(seed[i].p, seed[i].n);
        ok = ok && h.add(&n, 1) && h.finish(t);
        size_t const k = out_len < kPrfBytes ? out_len : kPrfBytes;
        copy(out, t, k);
        out += k;
        out_len -= k;
    }
    crypto::secure_zero(t, sizeof t);
    return ok;
}

void IkeKeys::wipe() {
    crypto::secure_zero(this, sizeof *this);
}
void ChildKeys::wipe() {
    crypto::secure_zero(this, sizeof *this);
}

namespace {

// {SK_d | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr); wipes seed_key.
bool expand_ike_keys(u8 (&seed_key)[kPrfBytes], bool ok, u8 const* nonces, size_t nn, u64 spi_i,
                     u64 spi_r, u8 key_len, IkeKeys& out) {
    u8 spis[16];
    put64(spis, spi_i);
    put64(spis + 8, spi_r);
    Bytes const seed[2] = {{nonces, nn}, {spis, sizeof spis}};
    size_t const e = key_len + kSaltBytes;
    u8 stream[3 * kPrfBytes + 2 * (32 + kSaltBytes)];
    size_t const total = 3 * kPrfBytes + 2 * e;
    ok = ok && prf_plus(seed_key, sizeof seed_key, seed, 2, stream, total);
    u8 const* p = stream;
    copy(out.sk_d, p, kPrfBytes);
    p += kPrfBytes;
    take_sk(p, key_len, out.sk_ei);
    take_sk(p, key_len, out.sk_er);
    copy(out.sk_pi, p, kPrfBytes);
    p += kPrfBytes;
    copy(out.sk_pr, p, kPrfBytes);
    crypto::secure_zero(seed_key, sizeof seed_key);
    crypto::secure_zero(stream, sizeof stream);
    return ok;
}

}  // namespace

bool derive_ike_keys(u8 const* ni, size_t ni_len, u8 const* nr, size_t nr_len, u8 const* gir,
                     size_t gir_len, u64 spi_i, u64 spi_r, u8 key_len, IkeKeys& out,
                     u8 const* old_sk_d) {
    if ((key_len != 16 && key_len != 32) || ni_len + nr_len > 2 * 256)
        return false;
    u8 nonces[2 * 256];
    copy(nonces, ni, ni_len);
    copy(nonces + ni_len, nr, nr_len);
    size_t const nn = ni_len + nr_len;
    u8 seed_key[kPrfBytes];
    bool ok;
    if (old_sk_d == nullptr) {  // SKEYSEED = prf(Ni | Nr, g^ir)
        Bytes const g{gir, gir_len};
        ok = prf(nonces, nn, &g, 1, seed_key);
    } else {  // a rekey (§2.18): SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)
        Bytes const parts[2] = {{gir, gir_len}, {nonces, nn}};
        ok = prf(old_sk_d, kPrfBytes, parts, 2, seed_key);
    }
    return expand_ike_keys(seed_key, ok, nonces, nn, spi_i, spi_r, key_len, out);
}

bool derive_child_keys(u8 const* sk_d, u8 const* ni, size_t ni_len, u8 const* nr, size_t nr_len,
                       u8 key_len, ChildKeys& out) {
    if (key_len != 16 && key_len != 32)
        return false;
    Bytes const seed[2] = {{ni, ni_len}, {nr, nr_len}};
    u8 stream[2 * (32 + kSaltBytes)];
    bool const ok = prf_plus(sk_d, kPrfBytes, seed, 2, stream, 2u * (key_len + kSaltBytes));
    u8 const* p = stream;
    take_sk(p, key_len, out.i_to_r);
    take_sk(p, key_len, out.r_to_i);
    crypto::secure_zero(stream, sizeof stream);
    return ok;
}

bool psk_pad_key(u8 const* psk, size_t psk_len, u8 (&out)[kPrfBytes]) {
    static constexpr char kPad[] = "Key Pad for IKEv2";
    Bytes const pad{reinterpret_cast<u8 const*>(kPad), sizeof kPad - 1};
    return prf(psk, psk_len, &pad, 1, out);
}

bool psk_auth(u8 const (&pad_key)[kPrfBytes], u8 const* msg, size_t msg_len, u8 const* nonce,
              size_t nonce_len, u8 const (&sk_p)[kPrfBytes], u8 const* id_body, size_t id_len,
              u8 (&out)[kPrfBytes]) {
    u8 maced_id[kPrfBytes];
    Bytes const id{id_body, id_len};
    if (!prf(sk_p, kPrfBytes, &id, 1, maced_id))
        return false;
    Bytes const parts[3] = {{msg, msg_len}, {nonce, nonce_len}, {maced_id, sizeof maced_id}};
    return prf(pad_key, kPrfBytes, parts, 3, out);
}

bool signed_digest(u8 const* msg, size_t msg_len, u8 const* nonce, size_t nonce_len,
                   u8 const (&sk_p)[kPrfBytes], u8 const* id_body, size_t id_len,
                   u8 (&out)[kPrfBytes]) {
    u8 maced_id[kPrfBytes];
    Bytes const id{id_body, id_len};
    if (!prf(sk_p, kPrfBytes, &id, 1, maced_id))
        return false;
    mbedtls_sha256_context c;
    mbedtls_sha256_init(&c);
    bool const ok = mbedtls_sha256_starts_ret(&c, 0) == 0 &&
                    mbedtls_sha256_update_ret(&c, msg, msg_len) == 0 &&
                    mbedtls_sha256_update_ret(&c, nonce, nonce_len) == 0 &&
                    mbedtls_sha256_update_ret(&c, maced_id, sizeof maced_id) == 0 &&
                    mbedtls_sha256_finish_ret(&c, out) == 0;
    mbedtls_sha256_free(&c);
    return ok;
}

bool signed_digest_sha1(u8 const* msg, size_t msg_len, u8 const* nonce, size_t nonce_len,
                        u8 const (&sk_p)[kPrfBytes], u8 const* id_body, size_t id_len,
                        u8 (&out)[20]) {
    u8 maced_id[kPrfBytes];
    Bytes const id{id_body, id_len};
    if (!prf(sk_p, kPrfBytes, &id, 1, maced_id))
        return false;
    mbedtls_sha1_context c;
    mbedtls_sha1_init(&c);
    bool const ok = mbedtls_sha1_starts_ret(&c) == 0 && mbedtls_sha1_update_ret(&c, msg, msg_len) == 0 &&
                    mbedtls_sha1_update_ret(&c, nonce, nonce_len) == 0 &&
                    mbedtls_sha1_update_ret(&c, maced_id, sizeof maced_id) == 0 &&
                    mbedtls_sha1_finish_ret(&c, out) == 0;
    mbedtls_sha1_free(&c);
    return ok;
}

}  // namespace tv::vpn::ike
