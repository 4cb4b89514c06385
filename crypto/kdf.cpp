#include "crypto/kdf.hpp"

#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>

namespace tv::crypto {

namespace {

// An HMAC-SHA256 md context that frees (and so wipes) itself.
class HmacCtx final {
  public:
    HmacCtx() { mbedtls_md_init(&ctx_); }
    ~HmacCtx() { mbedtls_md_free(&ctx_); }
    HmacCtx(HmacCtx const&) = delete;
    HmacCtx& operator=(HmacCtx const&) = delete;

    [[nodiscard]] bool setup() {
        mbedtls_md_info_t const* info = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
        return info != nullptr && mbedtls_md_setup(&ctx_, info, 1) == 0;
    }
    mbedtls_md_context_t* get() { return &ctx_; }

  private:
    mbedtls_md_context_t ctx_;
};

}  // namespace

bool pbkdf2_sha256(u8 const* pass, u64 pass_len, u8 const* salt, u64 salt_len, u32 iterations,
                   u8* out, u32 out_len) {
    if (pass == nullptr || salt == nullptr || out == nullptr || iterations == 0)
        return false;
    HmacCtx ctx;
    if (!ctx.setup())
        return false;
    return mbedtls_pkcs5_pbkdf2_hmac(ctx.get(), pass, pass_len, salt, salt_len, iterations, out_len,
                                     out) == 0;
}

bool hmac_sha256(u8 const* key, u64 key_len, u8 const* a, u64 a_len, u8 const* b, u64 b_len,
                 u8 (&out)[kSha256Bytes]) {
    HmacCtx ctx;
    if (!ctx.setup())
        return false;
    return mbedtls_md_hmac_starts(ctx.get(), key, key_len) == 0 &&
           (a_len == 0 || mbedtls_md_hmac_update(ctx.get(), a, a_len) == 0) &&
           (b_len == 0 || mbedtls_md_hmac_update(ctx.get(), b, b_len) == 0) &&
           mbedtls_md_hmac_finish(ctx.get(), out) == 0;
}

}  // namespace tv::crypto
