// A logical block address on a guest disk: the index of a data unit (512 or 4096 bytes) and,
// for XTS, the tweak. Its own type so that a sector number can never be passed where a byte
// offset or a count is expected.
#pragma once

#include "core/types.hpp"

namespace tv::crypto {

struct Lba {
    u64 raw;
    constexpr bool operator==(Lba const&) const = default;
};

}  // namespace tv::crypto
