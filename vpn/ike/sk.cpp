#include "vpn/ike/sk.hpp"

#include <mbedtls/gcm.h>

#include "crypto/secure_zero.hpp"

namespace tv::vpn::ike {

namespace {

class Gcm final {
  public:
    Gcm() { mbedtls_gcm_init(&ctx_); }
    ~Gcm() { mbedtls_gcm_free(&ctx_); }
    Gcm(Gcm const&) = delete;
    Gcm& operator=(Gcm const&) = delete;
    [[nodiscard]] bool key(SkKey const& k) {
        return (k.key_len == 16 || k.key_len == 32) &&
               mbedtls_gcm_setkey(&ctx_, MBEDTLS_CIPHER_ID_AES, k.key, k.key_len * 8u) == 0;
    }
    mbedtls_gcm_context* get() { return &ctx_; }

  private:
    mbedtls_gcm_context ctx_;
};

void make_nonce(SkKey const& k, u8 const* iv, u8 (&nonce)[12]) {
    for (size_t i = 0; i < kSaltBytes; ++i)
        nonce[i] = k.salt[i];
    for (size_t i = 0; i < kIvBytes; ++i)
        nonce[kSaltBytes + i] = iv[i];
}

// Common tail of seal_sk/seal_skf: `hdr_end` is where the payload header (with the fragment
// fields) ends, which is also where the IV goes.
size_t seal_tail(ChainBuilder& cb, size_t start, u8 const* plain, size_t plen, SkKey const& k,
                 u64 iv) {
    Writer& w = cb.w();
    size_t const hdr_end = w.pos();
    w.u64_(iv);
    u8* const ct = w.take(plen + 1);
    u8* const tag = w.take(kIcvBytes);
    cb.end(start);
    size_t const len = cb.finish();
    if (len == 0 || ct == nullptr || tag == nullptr)
        return 0;
    for (size_t i = 0; i < plen; ++i)
        ct[i] = plain[i];
    ct[plen] = 0;  // pad length
    u8 nonce[12];
    make_nonce(k, w.data() + hdr_end, nonce);
    Gcm g;
    if (!g.key(k) ||
        mbedtls_gcm_crypt_and_tag(g.get(), MBEDTLS_GCM_ENCRYPT, plen + 1, nonce, sizeof nonce,
                                  w.data(), hdr_end, ct, ct, kIcvBytes, tag) != 0)
        return 0;
    return len;
}

ParseError open_body(u8* msg, size_t aad_len, u8* body, size_t len, SkKey const& k, u8*& plain,
                     size_t& plen) {
    if (len < kIvBytes + kIcvBytes + 1)
        return ParseError::Truncated;
    size_t const ct_len = len - kIvBytes - kIcvBytes;
    u8* const ct = body + kIvBytes;
    u8 nonce[12];
    make_nonce(k, body, nonce);
    Gcm g;
    if (!g.key(k) || mbedtls_gcm_auth_decrypt(g.get(), ct_len, nonce, sizeof nonce, msg, aad_len,
                                              ct + ct_len, kIcvBytes, ct, ct) != 0)
        return ParseError::BadPayload;
    u8 const pad = ct[ct_len - 1];
    if (static_cast<size_t>(pad) + 1 > ct_len)
        return ParseError::BadPayload;
    plain = ct;
    plen = ct_len - pad - 1;
    return ParseError::Ok;
}

}  // namespace

size_t seal_sk(ChainBuilder& cb, u8 first, u8 const* plain, size_t plen, SkKey const& k, u64 iv) {
    size_t const start = cb.begin(Payload::SK);
    cb.w().patch8(start, first);
    return seal_tail(cb, start, plain, plen, k, iv);
}

size_t seal_skf(ChainBuilder& cb, u8 first, u16 num, u16 total, u8 const* plain, size_t plen,
                SkKey const& k, u64 iv) {
    if (num == 0 || num > total)
        return 0;
    size_t const start = cb.begin(Payload::SKF);
    cb.w().patch8(start, num == 1 ? first : 0);
    cb.w().u16_(num);
    cb.w().u16_(total);
    return seal_tail(cb, start, plain, plen, k, iv);
}

ParseError open_sk(u8* msg, PayloadRef const& ref, SkKey const& k, u8*& plain, size_t& plen) {
    return open_body(msg, ref.off, msg + ref.off, ref.len, k, plain, plen);
}

ParseError open_skf(u8* msg, PayloadRef const& ref, SkKey const& k, u16& num, u16& total,
                    u8*& plain, size_t& plen) {
    if (ref.len < 4)
        return ParseError::Truncated;
    num = get16(msg + ref.off);
    total = get16(msg + ref.off + 2);
    if (num == 0 || num > total)
        return ParseError::BadPayload;
    return open_body(msg, ref.off + 4u, msg + ref.off + 4, ref.len - 4u, k, plain, plen);
}

void Reassembly::reset() {
    crypto::secure_zero(buf_, sizeof buf_);
    crypto::secure_zero(out_, sizeof out_);
    active_ = false;
    total_ = have_ = 0;
    used_ = out_len_ = 0;
    first_ = 0;
    for (u16 i = 0; i <= kMaxFragments; ++i)
        got_[i] = false;
}

Reassembly::Result Reassembly::add(u32 msg_id, u16 num, u16 total, u8 first, u8 const* plain,
                                   size_t plen) {
    if (total == 0 || total > kMaxFragments || num == 0 || num > total)
        return Result::Refused;
    if (active_ && msg_id < msg_id_)
        return Result::Refused;
    if (!active_ || msg_id > msg_id_) {
        reset();
        active_ = true;
        msg_id_ = msg_id;
        total_ = total;
    }
    if (total != total_)
        return Result::Refused;
    if (got_[num])
        return Result::Incomplete;
    if (plen > kCapacity - used_)
        return Result::Refused;
    for (size_t i = 0; i < plen; ++i)
        buf_[used_ + i] = plain[i];
    off_[num] = static_cast<u16>(used_);
    len_[num] = static_cast<u16>(plen);
    got_[num] = true;
    used_ += plen;
    if (num == 1)
        first_ = first;
    if (++have_ < total_)
        return Result::Incomplete;
    out_len_ = 0;
    for (u16 i = 1; i <= total_; ++i) {
        for (u16 j = 0; j < len_[i]; ++j)
            out_[out_len_ + j] = buf_[off_[i] + j];
        out_len_ += len_[i];
    }
    active_ = false;
    return Result::Complete;
}

}  // namespace tv::vpn::ike
