// AES-GCM (NIST SP 800-38D) with a 12-byte nonce and a 16-byte tag, 128- or 256-bit keys: the
// cipher of ESP (RFC 4106) in vpn/.
//
// Two engines with identical output: AES-NI + PCLMULQDQ (crypto/aesni_gcm), and mbedTLS 2.28's
// GCM as the fallback for CPUs without them and as an independent cross-check in the tests.
// The engine is picked by CPUID unless forced.
//
// In the monitor, call set_key/seal/open only inside an FpuGuard (crypto/fpu_guard.hpp): both
// engines use xmm registers on a CPU with AES-NI.
//
// A Gcm holds key schedules. It has no destructor and a constexpr constructor, so a global
// table of them (vpn/sa.hpp) needs no static constructor; whoever owns one calls wipe() when
// the key is retired. It cannot be copied (mbedTLS contexts point into themselves).
#pragma once

#include "core/types.hpp"
#include "crypto/aesni_gcm.hpp"

namespace tv::crypto {

inline constexpr u64 kGcmNonceBytes = 12;
inline constexpr u64 kGcmTagBytes = 16;
inline constexpr u64 kGcmMaxData = 1u << 20;  // far above any packet
inline constexpr u64 kGcmMaxAad = 64;         // ESP's AAD is 8 or 12 bytes

enum class GcmEngine : u8 {
    Auto,  // AES-NI + PCLMULQDQ if the CPU has both, else mbedTLS
    AesNi,
    MbedTls,
};

[[nodiscard]] char const* engine_name(GcmEngine e);

class Gcm final {
  public:
    constexpr Gcm() = default;
    Gcm(Gcm const&) = delete;
    Gcm& operator=(Gcm const&) = delete;

    // key_len: 16 or 32. Unsupported if AesNi is forced on a CPU without AES-NI + PCLMULQDQ.
    // On failure the object is left without a key.
    [[nodiscard]] Status set_key(u8 const* key, u64 key_len, GcmEngine engine = GcmEngine::Auto);
    void wipe();  // forget the key; seal/open return Invalid until set_key again

    [[nodiscard]] bool keyed() const { return engine_ != GcmEngine::Auto; }
    [[nodiscard]] GcmEngine engine() const { return engine_; }

    // Encrypts len bytes of in to out (same buffer allowed) and writes the tag.
    // len <= kGcmMaxData, aad_len <= kGcmMaxAad.
    [[nodiscard]] Status seal(u8 const* nonce, u8 const* aad, u64 aad_len, u8 const* in, u8* out,
                              u64 len, u8* tag);
    // Checks the tag (in constant time) and decrypts into out. On Refused (bad tag) out holds
    // no plaintext (the AES-NI engine leaves it untouched, mbedTLS zeroes it): unauthenticated
    // data is never released.
    [[nodiscard]] Status open(u8 const* nonce, u8 const* aad, u64 aad_len, u8 const* in, u8* out,
                              u64 len, u8 const* tag);

  private:
    static constexpr u64 kMbedStorage = 448;  // one mbedtls_gcm_context; checked in gcm.cpp

    GcmEngine engine_{GcmEngine::Auto};  // Auto: no key
    aesni::GcmKeys ni_{};
    alignas(16) unsigned char mbed_[kMbedStorage]{};
};

}  // namespace tv::crypto
