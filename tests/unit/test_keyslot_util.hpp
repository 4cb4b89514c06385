// Shared by the keyslot tests: a reproducible random source and a ready-made key set.
#pragma once

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <string>

#include "crypto/crc32.hpp"
#include "crypto/keyslot.hpp"
#include "tests/unit/prng.hpp"

namespace tv::crypto::test_util {

// The unit tests use the smallest iteration count the format allows: fast, same code path.
inline constexpr u32 kTestIterations = kKsMinIterations;

class TestRandom {
  public:
    explicit TestRandom(u64 seed) : prng_{seed} {}
    Random get() { return Random{&fill, this}; }

  private:
    static bool fill(void* ctx, u8* out, u64 n) {
        auto* self = static_cast<TestRandom*>(ctx);
        for (u64 i = 0; i < n; ++i)
            out[i] = static_cast<u8>(self->prng_.next());
        return true;
    }
    test::Prng prng_;
};

// Recomputes the CRC of a file image after a test edited it: a deliberate edit, which the CRC
// (meant for accidents) does not stop.
inline void fix_crc(KsFileDisk& f) {
    auto* raw = reinterpret_cast<u8*>(&f);
    u8 const zero[4] = {};
    u32 const at = offsetof(KsHeaderDisk, crc32);
    u32 crc = crc32_update(0, raw, at);
    crc = crc32_update(crc, zero, sizeof zero);
    crc = crc32_update(crc, raw + at + 4, sizeof f - at - 4);
    f.header.crc32.set(crc);
}

inline u8 const* bytes(std::string const& s) { return reinterpret_cast<u8 const*>(s.data()); }

// A key set with one passphrase in slot 0.
struct KeySet {
    Keyslots ks;
    MasterKey mk;

    explicit KeySet(std::string const& pass, u32 data_unit = 512, u64 seed = 1) {
        TestRandom rng{seed};
        if (ks_create(ks, mk, data_unit, rng.get()) != KsError::Ok ||
            ks_add_passphrase(ks, mk, bytes(pass), pass.size(), kTestIterations, rng.get()) !=
                KsError::Ok)
            abort();
    }
    KsFileDisk file() const {
        KsFileDisk f;
        serialize_keyslots(ks, f);
        return f;
    }
};

}  // namespace tv::crypto::test_util
