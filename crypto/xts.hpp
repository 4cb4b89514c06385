// XTS-AES-256 for disk sectors (IEEE 1619-2007): a 512-bit key (K1 for the data, K2 for the
// tweak), one data unit per logical sector, the tweak being the sector number as a 128-bit
// little-endian integer (dm-crypt's "plain64"). Data units are whole AES blocks: sectors are
// 512 or 4096 bytes, so ciphertext stealing is not implemented and other lengths are refused.
//
// Two engines with identical output: AES-NI with eight blocks in flight (crypto/aesni_xts),
// and mbedTLS 2.28's mbedtls_aes_crypt_xts as the fallback for CPUs without AES-NI and as an
// independent cross-check in the tests. The engine is picked by CPUID unless forced.
//
// In the monitor, call set_key/encrypt/decrypt only inside an FpuGuard (crypto/fpu_guard.hpp):
// the AES-NI engine uses xmm registers, and so does mbedTLS when the CPU has AES-NI.
//
// An Xts holds key schedules; it wipes them in wipe() and in its destructor. It cannot be
// copied or moved (mbedTLS contexts point into themselves).
#pragma once

#include "core/types.hpp"
#include "crypto/aesni_xts.hpp"
#include "crypto/lba.hpp"

namespace tv::crypto {

inline constexpr u64 kXtsKeyBytes = 64;
inline constexpr u64 kXtsTweakBytes = 16;
inline constexpr u64 kXtsMaxUnit = 1u << 20;  // far above any sector; bounds mbedTLS's 2^24 limit

enum class XtsEngine : u8 {
    Auto,     // AES-NI if the CPU has it, else mbedTLS
    AesNi,
    MbedTls,
};

[[nodiscard]] char const* engine_name(XtsEngine e);

class Xts final {
  public:
    Xts();
    ~Xts();
    Xts(Xts const&) = delete;
    Xts& operator=(Xts const&) = delete;

    // key: kXtsKeyBytes bytes, K1 then K2. Invalid if K1 == K2 (IEEE 1619-2018 forbids it:
    // equal halves make the tweak predictable); Unsupported if AesNi is forced on a CPU
    // without it. On failure the object is left without a key.
    [[nodiscard]] Status set_key(u8 const* key, XtsEngine engine = XtsEngine::Auto);
    void wipe();  // forget the key; encrypt/decrypt return Invalid until set_key again

    [[nodiscard]] bool keyed() const { return engine_ != XtsEngine::Auto; }
    [[nodiscard]] XtsEngine engine() const { return engine_; }

    // One data unit of len bytes with an explicit 16-byte tweak (as in the NIST vectors).
    // len: a multiple of 16 in [16, kXtsMaxUnit]; in and out may be the same buffer.
    [[nodiscard]] Status encrypt(u8 const* tweak, u8 const* in, u8* out, u64 len);
    [[nodiscard]] Status decrypt(u8 const* tweak, u8 const* in, u8* out, u64 len);

    // count consecutive sectors of unit bytes each, starting at first: sector first + i is
    // bytes [i * unit, (i + 1) * unit) of in/out and uses tweak first + i.
    [[nodiscard]] Status encrypt_sectors(Lba first, u64 unit, u8 const* in, u8* out, u64 count);
    [[nodiscard]] Status decrypt_sectors(Lba first, u64 unit, u8 const* in, u8* out, u64 count);

  private:
    [[nodiscard]] Status crypt(bool encrypt, u8 const* tweak, u8 const* in, u8* out, u64 len);
    [[nodiscard]] Status crypt_sectors(bool encrypt, Lba first, u64 unit, u8 const* in, u8* out,
                                       u64 count);

    static constexpr u64 kMbedStorage = 1280;  // two mbedtls_aes_xts_context; checked in xts.cpp

    XtsEngine engine_{XtsEngine::Auto};  // Auto: no key
    aesni::Xts256Keys ni_;
    alignas(16) unsigned char mbed_[kMbedStorage];  // encrypt and decrypt contexts
};

// The XTS tweak for a sector: its number as a 128-bit little-endian integer.
void sector_tweak(Lba sector, u8 (&tweak)[kXtsTweakBytes]);

}  // namespace tv::crypto
