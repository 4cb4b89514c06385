// A Signer whose private key comes from a file (a boot module in the monitor, a file on the
// host): PEM or DER, RSA (2048-4096 bits) or ECDSA P-256, through mbedTLS. The key's bytes are
// wiped as soon as they are parsed, whatever the outcome; the parsed key lives in mbedTLS's
// context until the FileSigner is destroyed.
#pragma once

#include <mbedtls/pk.h>

#include "crypto/random.hpp"
#include "vpn/ike/signer.hpp"

namespace tv::vpn::ike {

class FileSigner final : public Signer {
  public:
    FileSigner();
    ~FileSigner();
    FileSigner(FileSigner const&) = delete;
    FileSigner& operator=(FileSigner const&) = delete;

    // cert: our certificate, PEM or DER; key: its private key, PEM or DER, wiped before the
    // return. Refused: unparsable input, a key that is not the certificate's, or a key type
    // other than RSA or EC P-256.
    [[nodiscard]] Status load(u8 const* cert, size_t cert_len, u8* key, size_t key_len,
                              crypto::Random rng);

    SigScheme scheme() const override { return scheme_; }
    u8 const* certificate(size_t& len) const override {
        len = cert_len_;
        return loaded_ ? cert_ : nullptr;
    }
    [[nodiscard]] size_t sign(u8 const (&digest)[kDigestBytes], u8* out, size_t cap) override;
    [[nodiscard]] size_t sign_sha1(u8 const (&digest)[kSha1Bytes], u8* out, size_t cap) override;
    size_t rsa_bits() const override;
    [[nodiscard]] size_t rsa_raw(u8 const* block, size_t len, u8* out, size_t cap) override;

  private:
    [[nodiscard]] size_t sign_with(int md, u8 const* digest, size_t digest_len, u8* out, size_t cap);
    mbedtls_pk_context pk_;
    u8 cert_[kMaxCertBytes] = {};
    size_t cert_len_ = 0;
    SigScheme scheme_ = SigScheme::EcdsaP256Sha256;
    crypto::Random rng_{};
    bool loaded_ = false;
};

}  // namespace tv::vpn::ike
